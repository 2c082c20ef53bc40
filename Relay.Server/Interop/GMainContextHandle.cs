namespace Relay.Server.Interop;

/// <summary>An owned GMainContext; released with g_main_context_unref.</summary>
internal sealed class GMainContextHandle : NativeHandle
{
    private GMainContextHandle(IntPtr handle)
        : base(handle, ownsHandle: true)
    {
    }

    /// <summary>Creates a new context (g_main_context_new, transfer full).</summary>
    public static GMainContextHandle Create() => new(GLib.g_main_context_new());

    /// <inheritdoc />
    protected override bool ReleaseHandle()
    {
        GLib.g_main_context_unref(handle);
        return true;
    }
}
