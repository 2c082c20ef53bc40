using Relay.Server.Interop;

namespace Relay.Server.GStreamer;

/// <summary>An owned reference to a GstPad.</summary>
internal sealed class Pad : IDisposable
{
    private readonly GstObjectHandle _handle;

    private Pad(GstObjectHandle handle)
    {
        _handle = handle;
    }

    /// <summary>Gets the pad's name, for example <c>recv_rtp_src_0_1234_96</c>.</summary>
    public string Name => GLib.TakeString(Gst.gst_object_get_name(_handle.Ptr)) ?? string.Empty;

    internal IntPtr Ptr => _handle.Ptr;

    /// <summary>Wraps a (transfer full) pad reference.</summary>
    internal static Pad? TakeFull(IntPtr pad) => pad == IntPtr.Zero ? null : new Pad(GstObjectHandle.TakeFull(pad));

    /// <summary>Takes a new reference to a borrowed pad (a signal argument).</summary>
    internal static Pad RefBorrowed(IntPtr pad) => new(GstObjectHandle.RefNone(pad));

    /// <summary>Gets the negotiated caps as a string (or the pad's possible caps when none are set yet).</summary>
    /// <returns>The caps, for example <c>application/x-rtp, media=(string)video, …</c>.</returns>
    public string GetCapsString()
    {
        var caps = Gst.gst_pad_get_current_caps(_handle.Ptr);
        if (caps == IntPtr.Zero)
        {
            caps = Gst.gst_pad_query_caps(_handle.Ptr, IntPtr.Zero);
        }

        if (caps == IntPtr.Zero)
        {
            return string.Empty;
        }

        try
        {
            return GLib.TakeString(Gst.gst_caps_to_string(caps)) ?? string.Empty;
        }
        finally
        {
            Gst.gst_mini_object_unref(caps);
        }
    }

    /// <summary>Links this source pad to <paramref name="sink"/>.</summary>
    /// <exception cref="GstException">The pads could not be linked.</exception>
    public void Link(Pad sink)
    {
        var result = (GstPadLinkReturn)Gst.gst_pad_link(_handle.Ptr, sink.Ptr);
        if (result != GstPadLinkReturn.Ok)
        {
            throw new GstException($"Linking pad {Name} to {sink.Name} failed: {result}.");
        }
    }

    /// <inheritdoc />
    public void Dispose() => _handle.Dispose();
}
