namespace Relay.Server.Interop;

/// <summary>An owned reference to a GstObject (element, bin, pipeline, pad, bus, clock); released with gst_object_unref.</summary>
internal sealed class GstObjectHandle : NativeHandle
{
    private GstObjectHandle(IntPtr handle, bool ownsHandle)
        : base(handle, ownsHandle)
    {
    }

    /// <summary>Wraps a (transfer full) reference we now own.</summary>
    public static GstObjectHandle TakeFull(IntPtr obj) => new(obj, ownsHandle: true);

    /// <summary>Wraps a (transfer floating) object: sinks the floating reference, which we then own.</summary>
    public static GstObjectHandle TakeFloating(IntPtr obj) =>
        new(obj == IntPtr.Zero ? IntPtr.Zero : Gst.gst_object_ref_sink(obj), ownsHandle: true);

    /// <summary>Adds a reference to a (transfer none) borrowed object and owns that reference.</summary>
    public static GstObjectHandle RefNone(IntPtr obj) =>
        new(obj == IntPtr.Zero ? IntPtr.Zero : Gst.gst_object_ref(obj), ownsHandle: true);

    /// <inheritdoc />
    protected override bool ReleaseHandle()
    {
        Gst.gst_object_unref(handle);
        return true;
    }
}
