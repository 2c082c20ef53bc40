namespace Relay.Server.Interop;

/// <summary>An owned reference to a plain GObject (the GstRTSP* server objects); released with g_object_unref.</summary>
internal sealed class GObjectHandle : NativeHandle
{
    private GObjectHandle(IntPtr handle)
        : base(handle, ownsHandle: true)
    {
    }

    /// <summary>Wraps a (transfer full) reference we now own.</summary>
    public static GObjectHandle TakeFull(IntPtr obj) => new(obj);

    /// <inheritdoc />
    protected override bool ReleaseHandle()
    {
        GObject.g_object_unref(handle);
        return true;
    }
}
