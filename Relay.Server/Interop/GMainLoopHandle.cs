namespace Relay.Server.Interop;

/// <summary>An owned GMainLoop; released with g_main_loop_unref.</summary>
internal sealed class GMainLoopHandle : NativeHandle
{
    private GMainLoopHandle(IntPtr handle)
        : base(handle, ownsHandle: true)
    {
    }

    /// <summary>Creates a loop on <paramref name="context"/> (g_main_loop_new, transfer full).</summary>
    public static GMainLoopHandle Create(GMainContextHandle context)
    {
        var added = false;
        try
        {
            context.DangerousAddRef(ref added);
            return new GMainLoopHandle(GLib.g_main_loop_new(context.DangerousGetHandle(), 0));
        }
        finally
        {
            if (added)
            {
                context.DangerousRelease();
            }
        }
    }

    /// <inheritdoc />
    protected override bool ReleaseHandle()
    {
        GLib.g_main_loop_unref(handle);
        return true;
    }
}
