using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Relay.Server.Interop;

namespace Relay.Server.GStreamer;

/// <summary>
/// A GstPipeline whose bus is read by a sync handler: every message is copied into a
/// <see cref="BusMessage"/>, handed to the owner's callback on the posting thread, and dropped (and unreffed,
/// as the sync-handler contract requires), so the bus queue never grows and no main loop is needed. The callback
/// must only copy and hand off.
/// </summary>
internal sealed class Pipeline : Element
{
    private readonly GstObjectHandle _bus;
    private int _stopped;

    private Pipeline(GstObjectHandle handle, Action<BusMessage> onMessage)
        : base(handle)
    {
        _bus = GstObjectHandle.TakeFull(Gst.gst_element_get_bus(handle.Ptr));
        InstallSyncHandler(new BusHandler(handle.Ptr, onMessage));
    }

    /// <summary>Creates an empty pipeline.</summary>
    public static Pipeline Create(string name, Action<BusMessage> onMessage)
    {
        GstRuntime.EnsureInitialized();
        return new Pipeline(GstObjectHandle.TakeFloating(Gst.gst_pipeline_new(name)), onMessage);
    }

    /// <summary>Creates a pipeline from a launch description (gst_parse_launch).</summary>
    /// <exception cref="GstException">The description does not parse or names a missing element.</exception>
    public static Pipeline Parse(string description, Action<BusMessage> onMessage)
    {
        GstRuntime.EnsureInitialized();
        var element = Gst.gst_parse_launch(description, out var error);
        if (error != IntPtr.Zero)
        {
            if (element != IntPtr.Zero)
            {
                Gst.gst_object_unref(Gst.gst_object_ref_sink(element));
            }

            throw GstException.FromGError(error, "Bad pipeline description");
        }

        return new Pipeline(GstObjectHandle.TakeFloating(element), onMessage);
    }

    /// <summary>Adds an element; the pipeline takes its own reference, the caller keeps theirs.</summary>
    public void Add(Element element)
    {
        if (!Gst.gst_bin_add(Ptr, element.Ptr))
        {
            throw new GstException($"Could not add {element.Name} to {Name}.");
        }
    }

    /// <summary>Requests a state change.</summary>
    /// <exception cref="GstException">The change failed at once (the bus carries the reason).</exception>
    public GstStateChangeReturn SetState(GstState state)
    {
        var result = (GstStateChangeReturn)Gst.gst_element_set_state(Ptr, (int)state);
        if (result == GstStateChangeReturn.Failure)
        {
            throw new GstException($"Pipeline {Name} could not go to {state}.");
        }

        return result;
    }

    /// <summary>
    /// Stops the pipeline (state NULL), which joins its streaming threads. Never call this from a streaming
    /// thread or a bus callback. Idempotent.
    /// </summary>
    public void Stop()
    {
        if (Interlocked.Exchange(ref _stopped, 1) == 0)
        {
            _ = Gst.gst_element_set_state(Ptr, (int)GstState.Null);
        }
    }

    protected override unsafe void Dispose(bool disposing)
    {
        if (disposing)
        {
            Stop();

            // Replacing the handler runs the old one's GDestroyNotify, which frees its GCHandle.
            Gst.gst_bus_set_sync_handler(_bus.Ptr, null, IntPtr.Zero, null);
            _bus.Dispose();
        }

        base.Dispose(disposing);
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static int SyncHandler(IntPtr bus, IntPtr message, IntPtr data)
    {
        try
        {
            var handler = NativeCallbacks.Target<BusHandler>(data);
            var copy = Copy(message, handler.Pipeline);
            if (copy is not null)
            {
                handler.OnMessage(copy);
            }
        }
        catch (Exception e)
        {
            NativeCallbacks.Report(e);
        }

        // GstBusSyncHandler contract: a handler that returns GST_BUS_DROP owns the message and must unref it.
        // Not doing so leaked every pipeline (its own EOS/STATE_CHANGED messages hold a ref to it) and with it the
        // bus's poll sockets: two file descriptors per source connection, found by the churn test.
        Gst.gst_mini_object_unref(message);
        return (int)GstBusSyncReply.Drop;
    }

    private static BusMessage? Copy(IntPtr message, IntPtr pipeline)
    {
        var type = Gst.MessageType(message);
        var source = Gst.MessageSource(message);
        switch (type)
        {
            case GstMessageType.Eos:
                return new BusMessage(BusMessageKind.EndOfStream, SourceName(source));
            case GstMessageType.Error:
            case GstMessageType.Warning:
                IntPtr error, debug;
                if (type == GstMessageType.Error)
                {
                    Gst.gst_message_parse_error(message, out error, out debug);
                }
                else
                {
                    Gst.gst_message_parse_warning(message, out error, out debug);
                }

                try
                {
                    var (domain, code, text) = error == IntPtr.Zero ? (GstErrorDomain.Unknown, 0, string.Empty) : GstException.ReadGError(error);
                    return new BusMessage(
                        type == GstMessageType.Error ? BusMessageKind.Error : BusMessageKind.Warning,
                        SourceName(source),
                        domain,
                        code,
                        text,
                        GLib.TakeString(debug));
                }
                finally
                {
                    if (error != IntPtr.Zero)
                    {
                        GLib.g_error_free(error);
                    }
                }

            case GstMessageType.StateChanged when source == pipeline:
                Gst.gst_message_parse_state_changed(message, out _, out var newState, out _);
                return new BusMessage(BusMessageKind.StateChanged, null, NewState: (GstState)newState);
            default:
                // Every element posts STATE_CHANGED, and there are many other kinds; none is needed.
                return null;
        }
    }

    private static string? SourceName(IntPtr source) =>
        source == IntPtr.Zero ? null : GLib.TakeString(Gst.gst_object_get_name(source));

    private unsafe void InstallSyncHandler(BusHandler handler)
    {
        var data = GCHandle.ToIntPtr(GCHandle.Alloc(handler));
        Gst.gst_bus_set_sync_handler(_bus.Ptr, &SyncHandler, data, &NativeCallbacks.FreeGCHandle);
    }

    private sealed record BusHandler(IntPtr Pipeline, Action<BusMessage> OnMessage);
}
