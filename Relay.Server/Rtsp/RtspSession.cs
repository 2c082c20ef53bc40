using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Relay.Server.Rtp;
using Relay.Server.Streams;

namespace Relay.Server.Rtsp;

/// <summary>Where one track of a session goes: interleaved channels (TCP) or the reader's UDP ports.</summary>
internal sealed record TrackTransport(int Track, string ControlUri, int RtpChannel, int RtcpChannel, IPEndPoint? RtpEndPoint, IPEndPoint? RtcpEndPoint)
{
    /// <summary>Gets the RTP destination in the kernel's format (built once, reused for every send).</summary>
    public NativeSocketAddress? RtpTarget { get; } = RtpEndPoint is null ? null : new NativeSocketAddress(RtpEndPoint);

    /// <summary>Gets the RTCP destination.</summary>
    public NativeSocketAddress? RtcpTarget { get; } = RtcpEndPoint is null ? null : new NativeSocketAddress(RtcpEndPoint);
}

/// <summary>
/// One RTSP session (RFC 2326 §3.6): the tracks a reader set up and how each is delivered. A TCP session writes
/// shared RTP frames into its connection, one write per frame under the connection's write lock: directly from the
/// delivering thread while the reader keeps up, else through a bounded queue and a sender task. A UDP session sends
/// each frame's packets from the server's RTP socket on the delivering thread.
/// </summary>
internal sealed partial class RtspSession : IDisposable
{
    private readonly Lock _gate = new();
    private readonly Dictionary<int, TrackTransport> _tracks = []; // guarded by _gate
    private readonly RtspServer _server;
    private readonly ILogger _logger;
    private readonly Lock _udpGate = new();
    private FrameQueue<RtpFrame>? _queue; // guarded by _gate (TCP)
    private Dictionary<int, TrackTransport>? _udpTargets; // guarded by _udpGate; null when not playing (UDP)
    private List<RtpFrame>? _pending; // guarded by _udpGate: frames held between PLAY and its response (UDP)
    private long _pendingBytes; // guarded by _udpGate
    private FrameQueueOptions _pendingLimit = FrameQueueOptions.Default; // guarded by _udpGate
    private int _syncTrack = -1; // guarded by _udpGate
    private bool _awaitingSync; // guarded by _udpGate
    private long _udpSkipped; // guarded by _udpGate
    private CancellationTokenSource? _senderStop; // guarded by _gate
    private int _senderBusy; // 1 while the TCP sender task holds dequeued frames
    private bool _sendingStarted; // TCP: the PLAY response was written; frames may go out
    private Dictionary<int, TrackTransport>? _tcpChannels; // set at PLAY (TCP)
    private int _wantedTracks; // bit per track index (tracks 0..31); read without the lock on the hot path
    private long _lastActivity;
    private long _bytesSent;
    private long _packetsSent;
    private int _ended;
    private long _playStarted; // timestamp of the last PLAY; 0 once its first frame was sent

    private readonly IDisposable _lease;

    public RtspSession(RtspServer server, RtspConnection connection, RtspMedia media, bool isTcp, IDisposable lease, ILogger logger)
    {
        _lease = lease;
        _server = server;
        _logger = logger;
        Connection = connection;
        Media = media;
        IsTcp = isTcp;
        // 16 hex digits from the OS random source (Guid.NewGuid uses it on Linux, without loading OpenSSL).
        Id = Guid.NewGuid().ToString("N")[..16].ToUpperInvariant();
        StartedAt = server.Time.GetUtcNow();
        Touch();
    }

    public string Id { get; }

    public RtspConnection Connection { get; }

    public RtspMedia Media { get; }

    public bool IsTcp { get; }

    public DateTimeOffset StartedAt { get; }

    public bool IsPlaying
    {
        get
        {
            if (IsTcp)
            {
                lock (_gate)
                {
                    return _queue is not null;
                }
            }

            lock (_udpGate)
            {
                return _udpTargets is not null;
            }
        }
    }

    public bool IsEnded => Volatile.Read(ref _ended) != 0;

    public long BytesSent => Interlocked.Read(ref _bytesSent);

    public long PacketsSent => Interlocked.Read(ref _packetsSent);

    /// <summary>Gets the frames skipped because this reader fell behind (this play).</summary>
    public long SkippedFrames
    {
        get
        {
            if (IsTcp)
            {
                lock (_gate)
                {
                    return _queue?.Skipped ?? 0;
                }
            }

            lock (_udpGate)
            {
                return _udpSkipped;
            }
        }
    }

    /// <summary>Gets the latest RTCP receiver report per track.</summary>
    private Dictionary<int, ReportBlock> ReceiverReports { get; } = []; // guarded by _gate

    /// <summary>Gets a copy of the latest RTCP receiver report per track.</summary>
    public IReadOnlyList<(int Track, ReportBlock Report)> ReceiverReportsSnapshot
    {
        get
        {
            lock (_gate)
            {
                return ReceiverReports.Select(r => (r.Key, r.Value)).ToArray();
            }
        }
    }

    public IReadOnlyCollection<int> TrackIndexes
    {
        get
        {
            lock (_gate)
            {
                return _tracks.Keys.Order().ToArray();
            }
        }
    }

    public IReadOnlyList<TrackTransport> Transports
    {
        get
        {
            lock (_gate)
            {
                return _tracks.Values.OrderBy(t => t.Track).ToArray();
            }
        }
    }

    /// <summary>Gets when the reader was last heard from (request or RTCP).</summary>
    public TimeSpan IdleFor => _server.Time.GetElapsedTime(Interlocked.Read(ref _lastActivity));

    public bool HasTrack(int index)
    {
        lock (_gate)
        {
            return _tracks.ContainsKey(index);
        }
    }

    public void AddTrack(TrackTransport transport)
    {
        lock (_gate)
        {
            _tracks[transport.Track] = transport;
            if (transport.Track < 32)
            {
                Volatile.Write(ref _wantedTracks, _wantedTracks | (1 << transport.Track));
            }
        }
    }

    public void Touch() => Interlocked.Exchange(ref _lastActivity, _server.Time.GetTimestamp());

    /// <summary>
    /// Called by <see cref="RtspMedia"/> under its lock for every frame. A TCP session sends it at once when the
    /// socket takes it without waiting and nothing is queued (see <see cref="TrySendNow"/>), else queues it for its
    /// sender task (the network may be slow; the queue decides what to skip). A UDP session sends it at once (added
    /// to the delivering thread's sendmmsg batch): a UDP send never waits on the reader.
    /// </summary>
    /// <param name="frame">The frame (borrowed).</param>
    /// <param name="batch">For UDP, the batch the delivering thread flushes after offering to every session.</param>
    public void Offer(RtpFrame frame, UdpBatch? batch = null)
    {
        if (frame.TrackIndex >= 32 || (Volatile.Read(ref _wantedTracks) & (1 << frame.TrackIndex)) == 0)
        {
            return;
        }

        if (IsTcp)
        {
            var queue = Volatile.Read(ref _queue);
            if (queue is not null && !TrySendNow(queue, frame))
            {
                queue.TryWrite(frame);
            }

            return;
        }

        lock (_udpGate)
        {
            if (_udpTargets is null)
            {
                return;
            }

            if (_awaitingSync)
            {
                if (frame.IsControl || !frame.IsKeyframe || (_syncTrack >= 0 && frame.TrackIndex != _syncTrack))
                {
                    _udpSkipped++;
                    return;
                }

                _awaitingSync = false;
            }

            if (_pending is not null)
            {
                // Between PLAY and its response: hold frames so none arrives before the response. A response that
                // does not go out (a client that reads nothing) must not make this grow: past the reader queue's
                // bounds, everything held is dropped and delivery starts again at the next keyframe.
                if (_pending.Count >= _pendingLimit.MaxFrames || _pendingBytes + frame.Length > _pendingLimit.MaxBytes)
                {
                    _udpSkipped += _pending.Count + 1;
                    ReleasePendingLocked();
                    _pending = [];
                    _awaitingSync = true;
                    return;
                }

                frame.AddRef();
                _pending.Add(frame);
                _pendingBytes += frame.Length;
                return;
            }

            SendUdp(frame, batch);
        }
    }

    /// <summary>Called by <see cref="RtspMedia.Play"/> under the media lock: prepares delivery from the next frame on.</summary>
    public void BeginPlay(int syncTrack, FrameQueueOptions options)
    {
        Interlocked.Exchange(ref _playStarted, _server.Time.GetTimestamp());
        if (IsTcp)
        {
            lock (_gate)
            {
                StopSenderLocked();
                _tcpChannels = Transports.ToDictionary(t => t.Track);
                _queue = new FrameQueue<RtpFrame>(options, _server.Time, startAtKeyframe: true) { SyncTrack = syncTrack };
            }

            return;
        }

        lock (_udpGate)
        {
            ReleasePendingLocked();
            _udpTargets = Transports.Where(t => t.Track < 32).ToDictionary(t => t.Track);
            _syncTrack = syncTrack;
            _awaitingSync = true;
            _pending = [];
            _pendingLimit = options;
        }
    }

    /// <summary>Starts sending (after the PLAY response was written).</summary>
    public void StartSending()
    {
        if (!IsTcp)
        {
            lock (_udpGate)
            {
                if (_pending is null)
                {
                    return;
                }

                foreach (var frame in _pending)
                {
                    SendUdp(frame, batch: null);
                    frame.Release();
                }

                _pending = null;
                _pendingBytes = 0;
            }

            return;
        }

        lock (_gate)
        {
            if (_queue is null || _senderStop is not null)
            {
                return;
            }

            var queue = _queue;
            var stop = CancellationTokenSource.CreateLinkedTokenSource(queue.Faulted);
            _senderStop = stop;
            Volatile.Write(ref _sendingStarted, true);
            _ = Task.Run(async () =>
            {
                try
                {
                    await SendTcpAsync(queue, stop.Token);
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

    /// <summary>Stops playing (PAUSE); the session keeps its tracks.</summary>
    public void Pause()
    {
        Media.Stop(this);
        StopDelivery();
    }

    /// <summary>Ends the session: stops sending and forgets it. Idempotent.</summary>
    /// <param name="reason">Why, for the log.</param>
    /// <param name="closeConnection">Also close the reader's RTSP connection (the stream cannot continue for it).</param>
    public void End(string reason, bool closeConnection = false)
    {
        if (Interlocked.Exchange(ref _ended, 1) != 0)
        {
            return;
        }

        Media.Stop(this);
        Media.CountDropped(IsTcp, SkippedFrames);
        StopDelivery();
        _server.Forget(this);
        _lease.Dispose();
        Log.SessionEnded(_logger, Id, Media.Stream.Name, reason, BytesSent);
        if (closeConnection)
        {
            Connection.Abort(reason);
        }
    }

    /// <inheritdoc />
    public void Dispose() => End("disposed");

    private void ObserveFirstFrame()
    {
        var started = Interlocked.Exchange(ref _playStarted, 0);
        if (started != 0)
        {
            _server.Metrics?.TimeToFirstFrame.WithLabels(Metrics.RelayMetrics.Protocol(IsTcp)).Observe(_server.Time.GetElapsedTime(started).TotalSeconds);
        }
    }

    /// <summary>
    /// The TCP fast path, on the delivering thread: when nothing is queued or being sent for this reader and no
    /// response is being written, the frame goes to the socket at once, without waking the sender task (two thread
    /// switches per frame and reader saved). If the kernel takes only part of it, this session keeps the write lock
    /// and a task finishes the frame, so nothing can interleave with it; later frames queue behind.
    /// </summary>
    /// <returns>True when the frame was handed to the socket (fully, or its remainder to the finishing task).</returns>
    private bool TrySendNow(FrameQueue<RtpFrame> queue, RtpFrame frame)
    {
        if (!Connection.CanSendNow || queue.Count != 0 || queue.IsSkipping || Volatile.Read(ref _senderBusy) != 0 || !Volatile.Read(ref _sendingStarted)
            || ChannelFor(frame, _tcpChannels) != frame.Channel || !Connection.WriteLock.Wait(0))
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
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException or InvalidOperationException or Microsoft.AspNetCore.Connections.ConnectionAbortedException)
        {
            // The connection went away; its close ends the session.
        }
        finally
        {
            Connection.WriteLock.Release();
            frame.Release();
        }
    }

    /// <summary>Gets the interleaved channel this reader set up for a frame's track (the frame's own when none).</summary>
    private static int ChannelFor(RtpFrame frame, Dictionary<int, TrackTransport>? channels) =>
        channels is not null && channels.TryGetValue(frame.TrackIndex, out var t)
            ? (frame.IsControl ? t.RtcpChannel : t.RtpChannel)
            : frame.Channel;

    private void Sent(RtpFrame frame)
    {
        var payload = frame.Length - (frame.PacketCount * RtpFrame.InterleavedHeaderLength);
        Interlocked.Add(ref _bytesSent, payload);
        Interlocked.Add(ref _packetsSent, frame.PacketCount);
        Media.CountSent(tcp: true, payload);
        ObserveFirstFrame();
    }

    private void StopDelivery()
    {
        lock (_gate)
        {
            StopSenderLocked();
        }

        lock (_udpGate)
        {
            ReleasePendingLocked();
            _udpTargets = null;
        }
    }

    private void ReleasePendingLocked()
    {
        foreach (var frame in _pending ?? [])
        {
            frame.Release();
        }

        _pending = null;
        _pendingBytes = 0;
    }

    private void SendUdp(RtpFrame frame, UdpBatch? batch)
    {
        if (!_udpTargets!.TryGetValue(frame.TrackIndex, out var transport))
        {
            return;
        }

        var (sent, bytes) = batch is not null && !frame.IsControl
            ? batch.Add(transport.RtpTarget!)
            : _server.Udp.Send(frame, frame.IsControl ? transport.RtcpTarget! : transport.RtpTarget!, frame.IsControl);
        Interlocked.Add(ref _packetsSent, sent);
        Interlocked.Add(ref _bytesSent, bytes);
    }

    /// <summary>Handles RTCP from the reader (receiver reports).</summary>
    public void OnRtcp(int track, ReadOnlySpan<byte> packet)
    {
        Touch();
        var reports = new List<ReportBlock>(2);
        if (!Rtcp.TryReadReports(packet, reports))
        {
            return;
        }

        lock (_gate)
        {
            foreach (var report in reports)
            {
                ReceiverReports[track] = report;
            }
        }
    }

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

    private async Task SendTcpAsync(FrameQueue<RtpFrame> queue, CancellationToken cancellationToken)
    {
        var channels = _tcpChannels ?? Transports.ToDictionary(t => t.Track);
        byte[]? scratch = null;

        // A reader stuck for the stall timeout is cut off by closing its connection, which also fails a send that
        // is blocked on its full socket buffer.
        using var cutOff = queue.Faulted.Register(() =>
        {
            Log.ReaderTooSlow(_logger, Id, Media.Stream.Name);
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
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException or InvalidOperationException or Microsoft.AspNetCore.Connections.ConnectionAbortedException)
        {
            // The connection went away; its close ends the session.
        }
        finally
        {
            if (scratch is not null)
            {
                Relay.Media.MediaBufferPool.Return(scratch);
            }
        }
    }

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
                Relay.Media.MediaBufferPool.Return(scratch);
            }

            scratch = Relay.Media.MediaBufferPool.Rent(frame.Length);
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
        [LoggerMessage(EventIds.RtspSessionEnded, LogLevel.Information, "RTSP session {Session} on {Stream} ended: {Reason} ({Bytes} bytes sent).")]
        public static partial void SessionEnded(ILogger logger, string session, string stream, string reason, long bytes);

        [LoggerMessage(EventIds.ReaderTooSlow, LogLevel.Warning, "RTSP session {Session} on {Stream} could not keep up and is disconnected.")]
        public static partial void ReaderTooSlow(ILogger logger, string session, string stream);
    }
}
