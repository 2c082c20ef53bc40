using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Relay.Server.Interop;

namespace Relay.Server.GStreamer;

/// <summary>
/// An element Relay defines itself and gives <c>rtpbin</c> in place of <c>rtpjitterbuffer</c> when a camera is
/// pulled over TCP with no latency asked for (rtpbin's <c>request-jitterbuffer</c> signal). Over TCP packets arrive
/// in order and complete, so there is nothing to reorder or wait for; what a depayloader still needs from the
/// jitter buffer is a timestamp on every packet. This element gives each packet the time of the stream's first
/// packet (rtspsrc stamps only that one over TCP) plus its RTP timestamp's distance from it, in the camera's clock.
/// Unlike <c>rtpjitterbuffer</c> it has no thread of its own: a packet goes from rtspsrc's socket thread straight
/// to the depayloader, which saves two threads per track and a thread wake per packet.
/// </summary>
/// <remarks>
/// rtpbin sets the <c>latency</c> property and links RTCP to a requested <c>sink_rtcp</c> pad on whatever element it
/// is given; both are accepted and the RTCP is dropped (lip-sync from sender reports is what this path gives up:
/// over TCP every track starts from the same first-packet time).
/// </remarks>
internal static unsafe class RtpTimestamper
{
    private const string StateKey = "relay-rtp-timestamper";
    private const uint LatencyProperty = 1;

    private static readonly Lazy<nuint> s_type = new(Register, LazyThreadSafetyMode.ExecutionAndPublication);
    private static int s_stateOffset;

    /// <summary>
    /// Creates an instance (floating, as rtpbin expects from a <c>request-jitterbuffer</c> handler).
    /// </summary>
    public static IntPtr Create()
    {
        var element = GObject.g_object_new_with_properties(s_type.Value, 0, IntPtr.Zero, IntPtr.Zero);
        if (element == IntPtr.Zero)
        {
            throw new GstException("Could not create the RTP timestamper.");
        }

        return element;
    }

    /// <summary>
    /// Makes every stream of an rtspsrc use a timestamper instead of a jitter buffer: when rtspsrc creates its
    /// session manager (rtpbin), the manager's <c>request-jitterbuffer</c> is answered with a new instance.
    /// </summary>
    public static void UseFor(Element rtspsrc)
    {
        _ = s_type.Value; // registered up front: a failure is the caller's, not a streaming thread's
        delegate* unmanaged[Cdecl]<IntPtr, IntPtr, IntPtr, void> callback = &NewManager;
        if (GObject.g_signal_connect_data(rtspsrc.Ptr, "new-manager", (IntPtr)callback, IntPtr.Zero, null, 0).Value == 0)
        {
            throw new GstException("rtspsrc has no new-manager signal.");
        }
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static void NewManager(IntPtr rtspsrc, IntPtr manager, IntPtr data)
    {
        // Another manager (rdtmanager for RealMedia) has no such signal: it keeps its own buffering.
        delegate* unmanaged[Cdecl]<IntPtr, uint, IntPtr, IntPtr> callback = &RequestJitterBuffer;
        _ = GObject.g_signal_connect_data(manager, "request-jitterbuffer", (IntPtr)callback, IntPtr.Zero, null, 0);
    }

    /// <summary>The timestamps a track's packets get (nanoseconds); its own type so unit tests can drive it.</summary>
    internal sealed class Clock
    {
        // A jump in RTP time larger than this (either way) is a new timeline (an encoder restart), not a frame gap.
        private const int MaxJumpSeconds = 10;

        private long _extended; // the RTP timestamp, extended past 32 bits
        private uint _last;
        private bool _started;
        private long _anchorRtp;
        private ulong _anchorTime;
        private ulong _lastTime;

        public int ClockRate { get; set; }

        /// <summary>Gets the time of a packet with RTP timestamp <paramref name="rtpTime"/>, arriving with
        /// <paramref name="stamped"/> (rtspsrc's time for a stream's first packet, else none).</summary>
        public ulong Next(uint rtpTime, ulong stamped)
        {
            var rate = ClockRate;
            if (!_started)
            {
                _started = true;
                _last = rtpTime;
                _extended = rtpTime;
                Anchor(stamped == GstConstants.ClockTimeNone ? 0 : stamped);
            }
            else
            {
                var step = (int)(rtpTime - _last);
                _last = rtpTime;
                _extended += step;
                if (stamped != GstConstants.ClockTimeNone)
                {
                    Anchor(stamped);
                }
                else if (Math.Abs((long)step) > (long)MaxJumpSeconds * rate)
                {
                    Anchor(_lastTime);
                }
            }

            var ticks = _extended - _anchorRtp;
            var offset = (ticks / rate * 1_000_000_000L) + (ticks % rate * 1_000_000_000L / rate);
            var time = offset < 0 && (ulong)-offset > _anchorTime ? 0 : (ulong)((long)_anchorTime + offset);
            _lastTime = time;
            return time;
        }

        private void Anchor(ulong time)
        {
            _anchorRtp = _extended;
            _anchorTime = time;
        }
    }

    private static nuint Register()
    {
        GstRuntime.EnsureInitialized();
        var parent = Gst.gst_element_get_type();
        GTypeQuery query;
        GObject.g_type_query(parent, &query);
        if (query.ClassSize == 0)
        {
            throw new GstException("GstElement's type information is unavailable.");
        }

        // The instance carries one pointer after GstElement: the GCHandle of its managed state.
        s_stateOffset = (int)((query.InstanceSize + 7u) & ~7u);
        var type = GObject.g_type_register_static_simple(
            parent,
            "RelayRtpTimestamper",
            query.ClassSize,
            &ClassInit,
            (uint)s_stateOffset + (uint)sizeof(IntPtr),
            &InstanceInit,
            0);
        if (type == 0)
        {
            throw new GstException("Could not register the RTP timestamper type.");
        }

        return type;
    }

    private static IntPtr Forever(string text) => Marshal.StringToCoTaskMemUTF8(text); // class data lives as long as the type

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static void ClassInit(IntPtr klass, IntPtr data)
    {
        try
        {
            delegate* unmanaged[Cdecl]<IntPtr, uint, IntPtr, IntPtr, void> set = &SetProperty;
            delegate* unmanaged[Cdecl]<IntPtr, uint, IntPtr, IntPtr, void> get = &GetProperty;
            delegate* unmanaged[Cdecl]<IntPtr, IntPtr, IntPtr, IntPtr, IntPtr> request = &RequestNewPad;
            *(IntPtr*)((byte*)klass + Offsets.ObjectClassSetProperty) = (IntPtr)set;
            *(IntPtr*)((byte*)klass + Offsets.ObjectClassGetProperty) = (IntPtr)get;
            *(IntPtr*)((byte*)klass + Offsets.ElementClassRequestNewPad) = (IntPtr)request;

            // G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS is not used: the strings are copied.
            GObject.g_object_class_install_property(klass, LatencyProperty, GObject.g_param_spec_uint("latency", "Latency", "Accepted and ignored: nothing is buffered", 0, uint.MaxValue, 0, 3));

            var any = Gst.gst_caps_new_any();
            Gst.gst_element_class_add_pad_template(klass, Gst.gst_pad_template_new("sink", GstConstants.PadSink, GstConstants.PadAlways, any));
            Gst.gst_element_class_add_pad_template(klass, Gst.gst_pad_template_new("src", GstConstants.PadSrc, GstConstants.PadAlways, any));
            Gst.gst_element_class_add_pad_template(klass, Gst.gst_pad_template_new("sink_rtcp", GstConstants.PadSink, GstConstants.PadRequest, any));
            Gst.gst_mini_object_unref(any);
            Gst.gst_element_class_set_static_metadata(
                klass,
                Forever("Relay RTP timestamper"),
                Forever("Filter/Network/RTP"),
                Forever("Timestamps in-order RTP packets from their RTP clock, without buffering"),
                Forever("Relay"));
        }
        catch (Exception e)
        {
            NativeCallbacks.Report(e);
        }
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static void InstanceInit(IntPtr instance, IntPtr klass)
    {
        try
        {
            // The pads' klass argument is the class being instantiated; its templates were added in ClassInit.
            var sink = Gst.gst_pad_new_from_template(Gst.gst_element_class_get_pad_template(klass, "sink"), "sink");
            var src = Gst.gst_pad_new_from_template(Gst.gst_element_class_get_pad_template(klass, "src"), "src");
            delegate* unmanaged[Cdecl]<IntPtr, IntPtr, IntPtr, int> chain = &Chain;
            delegate* unmanaged[Cdecl]<IntPtr, IntPtr, IntPtr, int> events = &SinkEvent;
            Gst.gst_pad_set_chain_function_full(sink, chain, IntPtr.Zero, IntPtr.Zero);
            Gst.gst_pad_set_event_function_full(sink, events, IntPtr.Zero, IntPtr.Zero);
            SetFlags(sink, GstConstants.PadFlagProxyCaps | GstConstants.PadFlagProxyAllocation);
            SetFlags(src, GstConstants.PadFlagProxyCaps | GstConstants.PadFlagProxyAllocation);
            _ = Gst.gst_element_add_pad(instance, sink); // fails only for a duplicate name
            _ = Gst.gst_element_add_pad(instance, src);

            var state = new State(src);
            var handle = GCHandle.ToIntPtr(GCHandle.Alloc(state));
            *(IntPtr*)((byte*)instance + s_stateOffset) = handle;
            GObject.g_object_set_data_full(instance, StateKey, handle, &NativeCallbacks.FreeGCHandle); // freed with the element
        }
        catch (Exception e)
        {
            NativeCallbacks.Report(e);
        }
    }

    private static void SetFlags(IntPtr obj, uint flags) => *(uint*)((byte*)obj + Offsets.ObjectFlags) |= flags;

    private static State? StateOf(IntPtr element)
    {
        var handle = element == IntPtr.Zero ? IntPtr.Zero : *(IntPtr*)((byte*)element + s_stateOffset);
        return handle == IntPtr.Zero ? null : (State?)GCHandle.FromIntPtr(handle).Target;
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static IntPtr RequestJitterBuffer(IntPtr rtpbin, uint session, IntPtr data)
    {
        try
        {
            return Create();
        }
        catch (Exception e)
        {
            NativeCallbacks.Report(e);
            return IntPtr.Zero; // rtpbin then makes its own jitter buffer
        }
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static void SetProperty(IntPtr obj, uint id, IntPtr value, IntPtr pspec)
    {
        // latency: nothing is buffered, so there is nothing to configure.
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static void GetProperty(IntPtr obj, uint id, IntPtr value, IntPtr pspec)
    {
        if (id == LatencyProperty)
        {
            GObject.g_value_set_uint(value, 0);
        }
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static IntPtr RequestNewPad(IntPtr element, IntPtr template, IntPtr name, IntPtr caps)
    {
        try
        {
            // RTCP from the camera: rtpbin's session already handled it; here it is dropped, events included.
            var pad = Gst.gst_pad_new_from_template(template, "sink_rtcp");
            delegate* unmanaged[Cdecl]<IntPtr, IntPtr, IntPtr, int> chain = &DropBuffer;
            delegate* unmanaged[Cdecl]<IntPtr, IntPtr, IntPtr, int> events = &DropEvent;
            Gst.gst_pad_set_chain_function_full(pad, chain, IntPtr.Zero, IntPtr.Zero);
            Gst.gst_pad_set_event_function_full(pad, events, IntPtr.Zero, IntPtr.Zero);
            if (Gst.gst_element_add_pad(element, pad) == 0)
            {
                return IntPtr.Zero; // already requested: the pad was sunk and freed by the failed add
            }

            return pad;
        }
        catch (Exception e)
        {
            NativeCallbacks.Report(e);
            return IntPtr.Zero;
        }
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static int DropBuffer(IntPtr pad, IntPtr parent, IntPtr buffer)
    {
        Gst.gst_mini_object_unref(buffer);
        return (int)GstFlowReturn.Ok;
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static int DropEvent(IntPtr pad, IntPtr parent, IntPtr evt)
    {
        Gst.gst_mini_object_unref(evt);
        return 1;
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static int SinkEvent(IntPtr pad, IntPtr parent, IntPtr evt)
    {
        try
        {
            if (Gst.EventType(evt) == GstConstants.EventCaps && StateOf(parent) is { } state)
            {
                Gst.gst_event_parse_caps(evt, out var caps);
                var structure = caps == IntPtr.Zero ? IntPtr.Zero : Gst.gst_caps_get_structure(caps, 0);
                if (structure != IntPtr.Zero && Gst.gst_structure_get_int(structure, "clock-rate", out var rate) != 0 && rate > 0)
                {
                    state.Clock.ClockRate = rate;
                }
            }
        }
        catch (Exception e)
        {
            NativeCallbacks.Report(e);
        }

        return Gst.gst_pad_event_default(pad, parent, evt);
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static int Chain(IntPtr pad, IntPtr parent, IntPtr buffer)
    {
        var state = StateOf(parent);
        if (state is null)
        {
            Gst.gst_mini_object_unref(buffer);
            return (int)GstFlowReturn.Error;
        }

        try
        {
            buffer = Stamp(state, buffer);
        }
        catch (Exception e)
        {
            NativeCallbacks.Report(e); // the packet goes on as it came
        }

        return Gst.gst_pad_push(state.Source, buffer);
    }

    private static IntPtr Stamp(State state, IntPtr buffer)
    {
        if (state.Clock.ClockRate <= 0)
        {
            return buffer;
        }

        byte* header = stackalloc byte[8];
        if (Gst.gst_buffer_extract(buffer, 0, header, 8) != 8 || (header[0] >> 6) != 2)
        {
            return buffer;
        }

        var stamped = Gst.BufferPts(buffer);
        if (stamped == GstConstants.ClockTimeNone)
        {
            stamped = Gst.BufferDts(buffer);
        }

        var time = state.Clock.Next(BinaryPrimitives.ReadUInt32BigEndian(new ReadOnlySpan<byte>(header + 4, 4)), stamped);
        buffer = Gst.gst_mini_object_make_writable(buffer);
        Gst.SetBufferPts(buffer, time);
        Gst.SetBufferDts(buffer, GstConstants.ClockTimeNone);
        return buffer;
    }

    private sealed class State(IntPtr source)
    {
        public IntPtr Source { get; } = source; // owned by the element, which outlives every call that reads it

        public Clock Clock { get; } = new();
    }
}
