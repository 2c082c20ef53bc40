namespace Relay.Server.Interop;

/// <summary>An owned reference to a GstMiniObject (sample, buffer, caps, token, permissions); released with gst_mini_object_unref.</summary>
internal sealed class GstMiniObjectHandle : NativeHandle
{
    private GstMiniObjectHandle(IntPtr handle)
        : base(handle, ownsHandle: true)
    {
    }

    /// <summary>Wraps a (transfer full) reference we now own.</summary>
    public static GstMiniObjectHandle TakeFull(IntPtr obj) => new(obj);

    /// <inheritdoc />
    protected override bool ReleaseHandle()
    {
        Gst.gst_mini_object_unref(handle);
        return true;
    }
}
