using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Relay.Media;
using Relay.Server.Rtp;
using Relay.Server.Streams;

namespace Relay.Server.Rtsp;

/// <summary>
/// Interleaved delivery (RFC 2326 §10.12): shared RTP frames are written into the reader's RTSP connection, one
/// write per frame under the connection's write lock: directly from the delivering thread while the reader keeps up
/// (<see cref="TrySendNow"/>), else through a bounded queue that a sender task drains (the queue decides what a slow
/// reader skips, and cuts off one that stays stuck).
/// </summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Design", "CA1001", Justification = "The queue is disposed by Stop, or by the sender task that drains it; the session calls Stop when it pauses or ends.")]
internal sealed partial class TcpDelivery(RtspSession session, TimeProvider time) : SessionDelivery
{
    private readonly Lock _gate = new();
    private FrameQueue<RtpFrame>? _queue; // guarded by _gate
    private CancellationTokenSource? _senderStop; // guarded by _gate
    private Dictionary<int, TrackTransport>? _channels; // set at PLAY
    private int _senderBusy; // 1 while the sender task holds dequeued frames
    private bool _sendingStarted; // the PLAY response was written; frames may go out

    private RtspConnection Connection => session.Connection;

    /// <inheritdoc />
    public override bool IsPlaying
    {
        get
        {
            lock (_gate)
            {
                return _queue is not null;
            }
        }
    }

    /// <inheritdoc />
    public override long Skipped
    {
        get
        {
            lock (_gate)
            {
                return _queue?.Skipped ?? 0;
            }
        }
    }

    /// <inheritdoc />
    public override void Offer(RtpFrame frame, UdpBatch? batch)
    {
        var queue = Volatile.Read(ref _queue);
        if (queue is not null && !TrySendNow(queue, frame))
        {
            queue.TryWrite(frame);
        }
    }

    /// <inheritdoc />
    public override void BeginPlay(IReadOnlyList<TrackTransport> transports, int syncTrack, FrameQueueOptions options)
    {
        lock (_gate)
        {
            StopSenderLocked();
            _channels = transports.ToDictionary(t => t.Track);
            _queue = new FrameQueue<RtpFrame>(options, time, startAtKeyframe: true) { SyncTrack = syncTrack };
        }
    }

    /// <inheritdoc />
    public override void StartSending()
    {
        lock (_gate)
        {
            if (_queue is null || _senderStop is not null)
            {
                return;
            }

            var queue = _queue;
            var channels = _channels ?? [];
            var stop = CancellationTokenSource.CreateLinkedTokenSource(queue.Faulted);
            _senderStop = stop;
            Volatile.Write(ref _sendingStarted, true);
            _ = Task.Run(async () =>
            {
                try
                {
                    await SendQueuedAsync(queue, channels, stop.Token);
                }
                finally
                {
                    // Not disposing 'stop': StopSenderLocked may still cancel it. It only links to the queue's own
                    // token, so it is collected with the queue.
                    queue.Dispose();
                }
            });
        }
    }

    /// <inheritdoc />
    public override void Stop()
    {
        lock (_gate)
        {
            StopSenderLocked();
        }
    }

    /// <summary>
    /// The fast path, on the delivering thread: when nothing is queued or being sent for this reader and no
    /// response is being written, the frame goes to the socket at once, without waking the sender task (two thread
    /// switches per frame and reader saved). If the kernel takes only part of it, this delivery keeps the write lock
    /// and a task finishes the frame, so nothing can interleave with it; later frames queue behind.
    /// </summary>
    /// <returns>True when the frame was handed to the socket (fully, or its remainder to the finishing task).</returns>
    private bool TrySendNow(FrameQueue<RtpFrame> queue, RtpFrame frame)
    {
        if (!Connection.CanSendNow || queue.Count != 0 || queue.IsSkipping || Volatile.Read(ref _senderBusy) != 0 || !Volatile.Read(ref _sendingStarted)
            || ChannelFor(frame, _channels) != frame.Channel || !Connection.WriteLock.Wait(0))
        {
            return false;
        }

        var data = frame.Memory;
        var sent = Connection.TrySendNow(data.Span);
        if (sent == data.Length)
        {
            Connection.WriteLock.Release();
            Sent(frame);
            return true;
        }

        if (sent < 0)
        {
            Connection.WriteLock.Release();
            return false; // broken: the queued path reports it and the connection's close ends the session
        }

        frame.AddRef();
        _ = FinishSendAsync(frame, data[sent..]);
        return true;
    }

    private async Task FinishSendAsync(RtpFrame frame, ReadOnlyMemory<byte> rest)
    {
        try
        {
            await Connection.SendAsync(rest, CancellationToken.None);
            Sent(frame);
        }
        catch (Exception e) when (IsConnectionGone(e))
        {
            // The connection went away; its close ends the session.
        }
        finally
        {
            Connection.WriteLock.Release();
            frame.Release();
        }
    }

    private void Sent(RtpFrame frame) =>
        session.CountSent(frame.PacketCount, frame.Length - (frame.PacketCount * RtpFrame.InterleavedHeaderLength));

    private void StopSenderLocked()
    {
        Volatile.Write(ref _sendingStarted, false);
        var queue = _queue;
        _queue = null;
        if (_senderStop is null)
        {
            queue?.Dispose();
            return;
        }

        // The sender task is the queue's only reader: it disposes the queue when it exits.
        _senderStop.Cancel();
        _senderStop = null;
    }

    private async Task SendQueuedAsync(FrameQueue<RtpFrame> queue, Dictionary<int, TrackTransport> channels, CancellationToken cancellationToken)
    {
        byte[]? scratch = null;

        // A reader stuck for the stall timeout is cut off by closing its connection, which also fails a send that
        // is blocked on its full socket buffer.
        using var cutOff = queue.Faulted.Register(() =>
        {
            Log.ReaderTooSlow(session.Logger, session.Id, session.Media.Stream.Name);
            Connection.Abort("reader too slow");
        });
        try
        {
            while (await queue.WaitToReadAsync(cancellationToken))
            {
                // While busy, the delivering thread queues instead of sending itself (TrySendNow), so frames keep
                // their order. Busy is cleared only with the queue seen empty.
                Volatile.Write(ref _senderBusy, 1);
                while (!cancellationToken.IsCancellationRequested && queue.TryRead(out var frame))
                {
                    try
                    {
                        var data = Remap(frame, channels, ref scratch);
                        await Connection.WriteLock.WaitAsync(cancellationToken);
                        try
                        {
                            // Never cancelled half-way: a partial frame would corrupt the connection's byte stream.
                            await Connection.SendAsync(data, CancellationToken.None);
                        }
                        finally
                        {
                            Connection.WriteLock.Release();
                        }

                        Sent(frame);
                    }
                    finally
                    {
                        frame.Release();
                    }
                }

                Volatile.Write(ref _senderBusy, 0);
            }
        }
        catch (Exception e) when (e is OperationCanceledException or ReaderTooSlowException)
        {
            // Paused, ended, or cut off (see above).
        }
        catch (Exception e) when (IsConnectionGone(e))
        {
            // The connection went away; its close ends the session.
        }
        finally
        {
            if (scratch is not null)
            {
                MediaBufferPool.Return(scratch);
            }
        }
    }

    private static bool IsConnectionGone(Exception e) =>
        e is IOException or SocketException or ObjectDisposedException or InvalidOperationException or Microsoft.AspNetCore.Connections.ConnectionAbortedException;

    /// <summary>Gets the interleaved channel this reader set up for a frame's track (the frame's own when none).</summary>
    private static int ChannelFor(RtpFrame frame, Dictionary<int, TrackTransport>? channels) =>
        channels is not null && channels.TryGetValue(frame.TrackIndex, out var t)
            ? (frame.IsControl ? t.RtcpChannel : t.RtpChannel)
            : frame.Channel;

    /// <summary>Gets the bytes to send for a frame: as built when the reader uses the default channels, else a patched copy.</summary>
    private static ReadOnlyMemory<byte> Remap(RtpFrame frame, Dictionary<int, TrackTransport> channels, ref byte[]? scratch)
    {
        var channel = ChannelFor(frame, channels);
        if (channel == frame.Channel)
        {
            return frame.Memory;
        }

        if (scratch is null || scratch.Length < frame.Length)
        {
            if (scratch is not null)
            {
                MediaBufferPool.Return(scratch);
            }

            scratch = MediaBufferPool.Rent(frame.Length);
        }

        var data = frame.Data;
        data.CopyTo(scratch);
        for (var offset = 0; offset + RtpFrame.InterleavedHeaderLength <= data.Length; offset += RtpFrame.InterleavedHeaderLength + ((data[offset + 2] << 8) | data[offset + 3]))
        {
            scratch[offset + 1] = (byte)channel;
        }

        return scratch.AsMemory(0, data.Length);
    }

    private static partial class Log
    {
        [LoggerMessage(EventIds.ReaderTooSlow, LogLevel.Warning, "RTSP session {Session} on {Stream} could not keep up and is disconnected.")]
        public static partial void ReaderTooSlow(ILogger logger, string session, string stream);
    }
}
