using Relay.Server.Interop;

namespace Relay.Server.GStreamer;

/// <summary>
/// Feeds managed bytes into an <c>appsrc</c> element as timestamped buffers. Pushing is thread-safe (appsrc queues
/// and hands buffers to its own streaming thread); the queue is unbounded, so callers bound it with
/// <see cref="QueuedBytes"/>.
/// </summary>
internal sealed class AppSrc(Element element)
{
    /// <summary>Gets the bytes queued in the appsrc, not yet taken by its streaming thread.</summary>
    public long QueuedBytes => (long)GstApp.gst_app_src_get_current_level_bytes(element.Ptr);

    /// <summary>Configures a live, time-stamped source with fixed caps; call before the pipeline starts.</summary>
    /// <param name="caps">The caps of every buffer, for example <c>video/x-h264,stream-format=byte-stream,alignment=au</c>.</param>
    public void ConfigureLive(string caps)
    {
        element.Set("caps", caps);
        element.Set("format", "time");
        element.Set("is-live", "true");
        element.Set("do-timestamp", "false");
        element.Set("stream-type", "stream");
    }

    /// <summary>Pushes one buffer holding a copy of <paramref name="data"/>.</summary>
    /// <returns>GStreamer's flow result (anything but <see cref="GstFlowReturn.Ok"/> means the pipeline stopped or failed).</returns>
    public unsafe GstFlowReturn Push(ReadOnlySpan<byte> data, TimeSpan pts, TimeSpan dts, bool isKeyframe)
    {
        var buffer = Gst.gst_buffer_new_allocate(IntPtr.Zero, (nuint)data.Length, IntPtr.Zero);
        if (buffer == IntPtr.Zero)
        {
            return GstFlowReturn.Error;
        }

        fixed (byte* source = data)
        {
            _ = Gst.gst_buffer_fill(buffer, 0, source, (nuint)data.Length);
        }

        Gst.SetBufferPts(buffer, ToClockTime(pts));
        Gst.SetBufferDts(buffer, ToClockTime(dts));
        if (!isKeyframe)
        {
            Gst.SetBufferFlags(buffer, Gst.BufferFlags(buffer) | GstConstants.BufferFlagDeltaUnit);
        }

        // transfer full: the appsrc owns the buffer from here, whatever the result.
        return (GstFlowReturn)GstApp.gst_app_src_push_buffer(element.Ptr, buffer);
    }

    /// <summary>Signals the end of the stream; the pipeline drains and posts EOS.</summary>
    public void EndOfStream() => _ = GstApp.gst_app_src_end_of_stream(element.Ptr);

    private static ulong ToClockTime(TimeSpan time) => time < TimeSpan.Zero ? 0 : (ulong)time.Ticks * 100;
}
