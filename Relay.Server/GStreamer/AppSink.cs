using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Relay.Server.Interop;

namespace Relay.Server.GStreamer;

/// <summary>Receives an appsink's samples on its streaming thread.</summary>
internal interface IAppSinkHandler
{
    /// <summary>A sample arrived. Copy what is needed; the sample is released when this returns. Must not block.</summary>
    void OnSample(in Sample sample);

    /// <summary>The appsink reached end of stream.</summary>
    void OnEndOfStream();
}

/// <summary>
/// Connects an appsink to a managed handler through gst_app_sink_set_callbacks (no signal emission, no
/// polling thread): each sample is pulled and handed over on the streaming thread that produced it.
/// </summary>
internal static class AppSink
{
    /// <summary>Configures <paramref name="appsink"/> for live relaying and installs <paramref name="handler"/>.</summary>
    /// <param name="appsink">An <c>appsink</c> element.</param>
    /// <param name="handler">Receives samples; kept alive by the appsink until it is finalized.</param>
    public static unsafe void Attach(Element appsink, IAppSinkHandler handler)
    {
        // sync=false: hand samples over as they arrive, never wait for the clock.
        appsink.Set("sync", "false");
        appsink.Set("emit-signals", "false");
        appsink.Set("enable-last-sample", "false");
        appsink.Set("max-buffers", "0");

        var callbacks = default(GstAppSinkCallbacks);
        callbacks.Eos = &EosTrampoline;
        callbacks.NewSample = &NewSampleTrampoline;
        var data = GCHandle.ToIntPtr(GCHandle.Alloc(handler));
        GstApp.gst_app_sink_set_callbacks(appsink.Ptr, &callbacks, data, &NativeCallbacks.FreeGCHandle);
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static int NewSampleTrampoline(IntPtr appsink, IntPtr data)
    {
        var sample = GstApp.gst_app_sink_pull_sample(appsink);
        if (sample == IntPtr.Zero)
        {
            return (int)GstFlowReturn.Flushing;
        }

        try
        {
            NativeCallbacks.Target<IAppSinkHandler>(data).OnSample(new Sample(sample));
        }
        catch (Exception e)
        {
            NativeCallbacks.Report(e);
        }
        finally
        {
            Gst.gst_mini_object_unref(sample);
        }

        return (int)GstFlowReturn.Ok;
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static void EosTrampoline(IntPtr appsink, IntPtr data)
    {
        try
        {
            NativeCallbacks.Target<IAppSinkHandler>(data).OnEndOfStream();
        }
        catch (Exception e)
        {
            NativeCallbacks.Report(e);
        }
    }
}

/// <summary>A borrowed GstSample, valid only during <see cref="IAppSinkHandler.OnSample"/>.</summary>
internal readonly ref struct Sample
{
    private readonly IntPtr _sample;
    private readonly IntPtr _buffer;

    internal Sample(IntPtr sample)
    {
        _sample = sample;
        _buffer = Gst.gst_sample_get_buffer(sample);
    }

    /// <summary>Gets the presentation time, or null when the buffer has none.</summary>
    public TimeSpan? Pts => ToTime(Gst.BufferPts(_buffer));

    /// <summary>Gets the decoding time, or null when the buffer has none.</summary>
    public TimeSpan? Dts => ToTime(Gst.BufferDts(_buffer));

    /// <summary>Gets a value indicating whether the buffer cannot be decoded on its own (GST_BUFFER_FLAG_DELTA_UNIT).</summary>
    public bool IsDeltaUnit => (Gst.BufferFlags(_buffer) & GstConstants.BufferFlagDeltaUnit) != 0;

    /// <summary>Gets the buffer's size in bytes.</summary>
    public int Size => (int)Gst.gst_buffer_get_size(_buffer);

    /// <summary>Gets a token that changes when the sample's caps object changes (compare, never dereference).</summary>
    public nint CapsIdentity => Gst.gst_sample_get_caps(_sample);

    /// <summary>Gets the sample's caps as a string.</summary>
    public string GetCapsString()
    {
        var caps = Gst.gst_sample_get_caps(_sample);
        return caps == IntPtr.Zero ? string.Empty : GLib.TakeString(Gst.gst_caps_to_string(caps)) ?? string.Empty;
    }

    /// <summary>Copies the buffer's bytes, starting at <paramref name="offset"/>, into <paramref name="destination"/>.</summary>
    /// <returns>The number of bytes copied.</returns>
    public unsafe int CopyTo(Span<byte> destination, int offset = 0)
    {
        fixed (byte* dest = destination)
        {
            return (int)Gst.gst_buffer_extract(_buffer, (nuint)offset, dest, (nuint)destination.Length);
        }
    }

    private static TimeSpan? ToTime(ulong nanoseconds) =>
        nanoseconds == GstConstants.ClockTimeNone ? null : TimeSpan.FromTicks((long)(nanoseconds / 100));
}
