using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Relay.Server.Interop;

namespace Relay.Server.GStreamer;

/// <summary>An owned reference to a GstElement (or bin), with typed access to the signals Relay uses.</summary>
internal class Element : IDisposable
{
    private readonly GstObjectHandle _handle;

    protected Element(GstObjectHandle handle)
    {
        _handle = handle;
    }

    /// <summary>Gets the element's name.</summary>
    public string Name => GLib.TakeString(Gst.gst_object_get_name(_handle.Ptr)) ?? string.Empty;

    internal IntPtr Ptr => _handle.Ptr;

    /// <summary>Wraps a (transfer full) element reference; null stays null.</summary>
    internal static Element? TakeFull(IntPtr element) => element == IntPtr.Zero ? null : new Element(GstObjectHandle.TakeFull(element));

    /// <summary>Creates an element from its factory (gst_element_factory_make) and owns it.</summary>
    /// <exception cref="GstException">The factory is not installed.</exception>
    public static Element Make(string factory, string? name = null)
    {
        GstRuntime.EnsureInitialized();
        var element = Gst.gst_element_factory_make(factory, name);
        if (element == IntPtr.Zero)
        {
            throw new GstException($"GStreamer element '{factory}' is not installed.");
        }

        return new Element(GstObjectHandle.TakeFloating(element));
    }

    /// <summary>Creates a bin from a launch description, ghosting its unlinked pads (gst_parse_bin_from_description).</summary>
    /// <exception cref="GstException">The description does not parse or names a missing element.</exception>
    public static Element ParseBin(string description)
    {
        GstRuntime.EnsureInitialized();
        var bin = Gst.gst_parse_bin_from_description(description, 1, out var error);
        if (error != IntPtr.Zero)
        {
            if (bin != IntPtr.Zero)
            {
                Gst.gst_object_unref(Gst.gst_object_ref_sink(bin));
            }

            throw GstException.FromGError(error, $"Bad bin description '{description}'");
        }

        return new Element(GstObjectHandle.TakeFloating(bin));
    }

    /// <summary>Sets a property from its string form (ints, booleans, enums, flags and caps are parsed).</summary>
    public void Set(string property, string value) => Gst.gst_util_set_object_arg(_handle.Ptr, property, value);

    /// <summary>Finds a child of a bin by name.</summary>
    public Element? GetByName(string name) => TakeFull(Gst.gst_bin_get_by_name(_handle.Ptr, name));

    /// <summary>Gets a static pad (for example a bin's ghosted <c>sink</c> pad).</summary>
    public Pad? GetStaticPad(string name) => Pad.TakeFull(Gst.gst_element_get_static_pad(_handle.Ptr, name));

    /// <summary>
    /// Stops this element ahead of its pipeline: its state is locked (the pipeline's state changes pass it by) and set
    /// to NULL. A sink stopped this way refuses data at once (FLUSHING), so no streaming thread can be left waiting
    /// in it for a preroll while the pipeline goes down.
    /// </summary>
    public void StopAhead()
    {
        _ = Gst.gst_element_set_locked_state(_handle.Ptr, 1);
        _ = Gst.gst_element_set_state(_handle.Ptr, (int)GstState.Null);
    }

    /// <summary>Brings the element to its parent's state (for elements added to a running pipeline).</summary>
    public bool SyncStateWithParent() => Gst.gst_element_sync_state_with_parent(_handle.Ptr);

    /// <summary>Subscribes to <c>pad-added</c>. The handler runs on a GStreamer streaming thread.</summary>
    public unsafe void OnPadAdded(Action<Pad> handler)
    {
        delegate* unmanaged[Cdecl]<IntPtr, IntPtr, IntPtr, void> callback = &PadAddedTrampoline;
        Connect("pad-added", (IntPtr)callback, handler);
    }

    /// <summary>
    /// Subscribes to rtspsrc's <c>on-sdp</c> with the SDP as text. The handler runs on rtspsrc's task thread
    /// before the streams are set up.
    /// </summary>
    public unsafe void OnSdp(Action<string> handler)
    {
        delegate* unmanaged[Cdecl]<IntPtr, IntPtr, IntPtr, void> callback = &SdpTrampoline;
        Connect("on-sdp", (IntPtr)callback, handler);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        Dispose(disposing: true);
        GC.SuppressFinalize(this);
    }

    protected virtual void Dispose(bool disposing)
    {
        if (disposing)
        {
            _handle.Dispose();
        }
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static void PadAddedTrampoline(IntPtr element, IntPtr pad, IntPtr data)
    {
        try
        {
            using var borrowed = Pad.RefBorrowed(pad);
            NativeCallbacks.Target<Action<Pad>>(data)(borrowed);
        }
        catch (Exception e)
        {
            NativeCallbacks.Report(e);
        }
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static void SdpTrampoline(IntPtr element, IntPtr sdp, IntPtr data)
    {
        try
        {
            var text = GLib.TakeString(GstSdp.gst_sdp_message_as_text(sdp)) ?? string.Empty;
            NativeCallbacks.Target<Action<string>>(data)(text);
        }
        catch (Exception e)
        {
            NativeCallbacks.Report(e);
        }
    }

    private unsafe void Connect(string signal, IntPtr callback, object target)
    {
        // The GCHandle lives until the handler is disconnected or the element is finalized; GObject then
        // calls FreeGCHandleClosure.
        var data = GCHandle.ToIntPtr(GCHandle.Alloc(target));
        var id = GObject.g_signal_connect_data(_handle.Ptr, signal, callback, data, &NativeCallbacks.FreeGCHandleClosure, 0);
        if (id.Value == 0)
        {
            GCHandle.FromIntPtr(data).Free();
            throw new GstException($"Element {Name} has no signal '{signal}'.");
        }
    }
}
