using System.Runtime.InteropServices;

namespace Relay.Server.Interop;

/// <summary>libgstapp-1.0: appsink and appsrc.</summary>
internal static unsafe partial class GstApp
{
    // void gst_app_sink_set_callbacks (GstAppSink *appsink, GstAppSinkCallbacks *callbacks, gpointer user_data,
    //                                  GDestroyNotify notify);
    //   The callbacks struct is copied. notify runs when the callbacks are replaced or the sink is finalized.
    [LibraryImport(Libs.GstApp)]
    public static partial void gst_app_sink_set_callbacks(
        IntPtr appsink,
        GstAppSinkCallbacks* callbacks,
        IntPtr userData,
        delegate* unmanaged[Cdecl]<IntPtr, void> notify);

    // GstSample *gst_app_sink_pull_sample (GstAppSink *appsink);   (transfer full, nullable)
    [LibraryImport(Libs.GstApp)]
    public static partial IntPtr gst_app_sink_pull_sample(IntPtr appsink);

    // GstFlowReturn gst_app_src_push_buffer (GstAppSrc *appsrc, GstBuffer *buffer);   (buffer: transfer full)
    [LibraryImport(Libs.GstApp)]
    public static partial int gst_app_src_push_buffer(IntPtr appsrc, IntPtr buffer);

    // void gst_app_src_set_caps (GstAppSrc *appsrc, const GstCaps *caps);   (caps: transfer none)
    [LibraryImport(Libs.GstApp)]
    public static partial void gst_app_src_set_caps(IntPtr appsrc, IntPtr caps);

    // GstFlowReturn gst_app_src_end_of_stream (GstAppSrc *appsrc);
    [LibraryImport(Libs.GstApp)]
    public static partial int gst_app_src_end_of_stream(IntPtr appsrc);

    // guint64 gst_app_src_get_current_level_bytes (GstAppSrc *appsrc);
    [LibraryImport(Libs.GstApp)]
    public static partial ulong gst_app_src_get_current_level_bytes(IntPtr appsrc);
}
