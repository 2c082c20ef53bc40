using System.Runtime.InteropServices;

namespace Relay.Server.Interop;

/// <summary>libgstsdp-1.0: only to turn rtspsrc's parsed SDP back into text.</summary>
internal static partial class GstSdp
{
    // gchar *gst_sdp_message_as_text (const GstSDPMessage *msg);   (transfer full)
    [LibraryImport(Libs.GstSdp)]
    public static partial IntPtr gst_sdp_message_as_text(IntPtr message);
}
