using System.Buffers;
using System.IO;
using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using Microsoft.Extensions.Logging;
using Relay.Server.Rtp;
using Relay.Server.Streams;

namespace Relay.Server.Rtsp;

/// <summary>Where one track of a session goes: interleaved channels (TCP) or the reader's UDP ports.</summary>
internal sealed record TrackTransport(int Track, string ControlUri, int RtpChannel, int RtcpChannel, IPEndPoint? RtpEndPoint, IPEndPoint? RtcpEndPoint)
{
    /// <summary>Gets the RTP destination as a SocketAddress (built once, reused for every send).</summary>
    public SocketAddress? RtpAddress { get; } = RtpEndPoint?.Serialize();

    /// <summary>Gets the RTCP destination.</summary>
    public SocketAddress? RtcpAddress { get; } = RtcpEndPoint?.Serialize();
}

/// <summary>
/// One RTSP session (RFC 2326 §3.6): the tracks a reader set up, how each is delivered, and while playing,
/// the reader's bounded queue of shared RTP frames and the task that sends them. TCP sessions write into their
/// connection (one write per frame, under the connection's write lock); UDP sessions send each packet from
/// the server's RTP socket.
/// </summary>
internal sealed partial class RtspSession
{
    private readonly Lock _gate = new();
    private readonly Dictionary<int, TrackTransport> _tracks = []; // guarded by _gate
    private readonly RtspServer _server;
    private readonly ILogger _logger;
    private FrameQueue<RtpFrame>? _queue; // guarded by _gate
    private CancellationTokenSource? _senderStop; // guarded by _gate
    private Task _sender = Task.CompletedTask;
    private int _wantedTracks; // bit per track index (tracks 0..31); read without the lock on the hot path
    private long _lastActivity;
    private long _bytesSent;
    private long _packetsSent;
    private int _ended;

    public RtspSession(RtspServer server, RtspConnection connection, RtspMedia media, bool isTcp, ILogger logger)
    {
        _server = server;
        _logger = logger;
        Connection = connection;
        Media = media;
        IsTcp = isTcp;
        Id = Convert.ToHexString(RandomNumberGenerator.GetBytes(8));
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
            lock (_gate)
            {
                return _queue is not null;
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
            lock (_gate)
            {
                return _queue?.Skipped ?? 0;
            }
        }
    }

    /// <summary>Gets the latest RTCP receiver report per track.</summary>
    public Dictionary<int, ReportBlock> ReceiverReports { get; } = [];

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

    /// <summary>Called by <see cref="RtspMedia"/> under its lock: queues a frame when this session wants its track.</summary>
    public void Offer(RtpFrame frame)
    {
        // The queue field is read without our lock: Attach/Detach happen under the media lock too.
        var queue = Volatile.Read(ref _queue);
        if (queue is not null && frame.TrackIndex < 32 && (Volatile.Read(ref _wantedTracks) & (1 << frame.TrackIndex)) != 0)
        {
            queue.TryWrite(frame);
        }
    }

    /// <summary>Called by <see cref="RtspMedia.Play"/> under the media lock: the queue to send from.</summary>
    public void Attach(FrameQueue<RtpFrame> queue)
    {
        lock (_gate)
        {
            StopSenderLocked();
            _queue = queue;
        }
    }

    /// <summary>Starts sending what is queued (after the PLAY response was written).</summary>
    public void StartSending()
    {
        lock (_gate)
        {
            if (_queue is null || _senderStop is not null)
            {
                return;
            }

            var queue = _queue;
            var stop = CancellationTokenSource.CreateLinkedTokenSource(queue.Faulted);
            _senderStop = stop;
            _sender = Task.Run(async () =>
            {
                try
                {
                    await (IsTcp ? SendTcpAsync(queue, stop.Token) : SendUdpAsync(queue, stop.Token));
                }
                finally
                {
                    queue.Dispose();
                    stop.Dispose();
                }
            });
        }
    }

    /// <summary>Stops playing (PAUSE); the session keeps its tracks.</summary>
    public void Pause()
    {
        Media.Stop(this);
        lock (_gate)
        {
            StopSenderLocked();
        }
    }

    /// <summary>Ends the session: stops sending and forgets it. Idempotent.</summary>
    public void End(string reason)
    {
        if (Interlocked.Exchange(ref _ended, 1) != 0)
        {
            return;
        }

        Media.Stop(this);
        lock (_gate)
        {
            StopSenderLocked();
        }

        _server.Forget(this);
        Log.SessionEnded(_logger, Id, Media.Stream.Name, reason, BytesSent);
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
        var output = Connection.Output;
        var channels = Transports.ToDictionary(t => t.Track);
        try
        {
            while (await queue.WaitToReadAsync(cancellationToken))
            {
                await Connection.WriteLock.WaitAsync(cancellationToken);
                try
                {
                    while (queue.TryRead(out var frame))
                    {
                        try
                        {
                            WriteInterleaved(output, frame, channels);
                        }
                        finally
                        {
                            frame.Release();
                        }
                    }

                    var result = await output.FlushAsync(cancellationToken);
                    if (result.IsCompleted || result.IsCanceled)
                    {
                        return;
                    }
                }
                finally
                {
                    Connection.WriteLock.Release();
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested && !queue.Faulted.IsCancellationRequested)
        {
            // Paused or ended.
        }
        catch (Exception e) when (e is ReaderTooSlowException or OperationCanceledException)
        {
            Log.ReaderTooSlow(_logger, Id, Media.Stream.Name);
            Connection.Abort("reader too slow");
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or InvalidOperationException)
        {
            // The connection went away; its close ends the session.
        }
    }

    private void WriteInterleaved(PipeWriter output, RtpFrame frame, Dictionary<int, TrackTransport> channels)
    {
        var data = frame.Data;
        var expected = (2 * frame.TrackIndex) + (frame.IsControl ? 1 : 0);
        var channel = channels.TryGetValue(frame.TrackIndex, out var t) ? (frame.IsControl ? t.RtcpChannel : t.RtpChannel) : expected;
        if (channel == expected)
        {
            output.Write(data);
        }
        else
        {
            // The reader chose other channel numbers: patch each packet's prefix.
            var offset = 0;
            while (offset + RtpFrame.InterleavedHeaderLength <= data.Length)
            {
                var length = (data[offset + 2] << 8) | data[offset + 3];
                var span = output.GetSpan(RtpFrame.InterleavedHeaderLength + length);
                data.Slice(offset, RtpFrame.InterleavedHeaderLength + length).CopyTo(span);
                span[1] = (byte)channel;
                output.Advance(RtpFrame.InterleavedHeaderLength + length);
                offset += RtpFrame.InterleavedHeaderLength + length;
            }
        }

        Interlocked.Add(ref _bytesSent, data.Length - (frame.PacketCount * RtpFrame.InterleavedHeaderLength));
        Interlocked.Add(ref _packetsSent, frame.PacketCount);
    }

    private async Task SendUdpAsync(FrameQueue<RtpFrame> queue, CancellationToken cancellationToken)
    {
        var transports = Transports.ToDictionary(t => t.Track);
        try
        {
            while (await queue.WaitToReadAsync(cancellationToken))
            {
                while (queue.TryRead(out var frame))
                {
                    try
                    {
                        if (transports.TryGetValue(frame.TrackIndex, out var transport))
                        {
                            var (sent, bytes) = _server.Udp.Send(frame, frame.IsControl ? transport.RtcpAddress! : transport.RtpAddress!, frame.IsControl);
                            Interlocked.Add(ref _packetsSent, sent);
                            Interlocked.Add(ref _bytesSent, bytes);
                        }
                    }
                    finally
                    {
                        frame.Release();
                    }
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested && !queue.Faulted.IsCancellationRequested)
        {
            // Paused or ended.
        }
        catch (Exception e) when (e is ReaderTooSlowException or OperationCanceledException)
        {
            Log.ReaderTooSlow(_logger, Id, Media.Stream.Name);
            End("reader too slow");
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventIds.RtspSessionEnded, LogLevel.Information, "RTSP session {Session} on {Stream} ended: {Reason} ({Bytes} bytes sent).")]
        public static partial void SessionEnded(ILogger logger, string session, string stream, string reason, long bytes);

        [LoggerMessage(EventIds.ReaderTooSlow, LogLevel.Warning, "RTSP session {Session} on {Stream} could not keep up and is disconnected.")]
        public static partial void ReaderTooSlow(ILogger logger, string session, string stream);
    }
}
