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
/// One RTSP session (RFC 2326 §3.6): the tracks a reader set up, its receiver reports and its counters. How frames
/// reach the reader is its delivery, chosen by the transport at SETUP: <see cref="TcpDelivery"/> (interleaved in
/// the RTSP connection) or <see cref="UdpDelivery"/> (the server's RTP/RTCP sockets to the reader's ports).
/// </summary>
internal sealed partial class RtspSession : IDisposable
{
    private readonly Lock _gate = new(); // the tracks and receiver reports
    private readonly Dictionary<int, TrackTransport> _tracks = []; // guarded by _gate
    private readonly Dictionary<int, ReportBlock> _receiverReports = []; // guarded by _gate
    private readonly RtspServer _server;
    private readonly IDisposable _lease;
    private readonly SessionDelivery _delivery;
    private int _wantedTracks; // bit per track index (tracks 0..31); read without the lock on the hot path
    private long _lastActivity;
    private long _bytesSent;
    private long _packetsSent;
    private int _ended;
    private long _playStarted; // timestamp of the last PLAY; 0 once its first frame was sent

    public RtspSession(RtspServer server, RtspConnection connection, RtspMedia media, bool isTcp, IDisposable lease, ILogger logger)
    {
        _lease = lease;
        _server = server;
        Logger = logger;
        Connection = connection;
        Media = media;
        IsTcp = isTcp;
        // 16 hex digits from the OS random source (Guid.NewGuid uses it on Linux, without loading OpenSSL).
        Id = Guid.NewGuid().ToString("N")[..16].ToUpperInvariant();
        StartedAt = server.Time.GetUtcNow();
        _delivery = isTcp ? new TcpDelivery(this, server.Time) : new UdpDelivery(this, server.Udp);
        Touch();
    }

    public string Id { get; }

    public RtspConnection Connection { get; }

    public RtspMedia Media { get; }

    public bool IsTcp { get; }

    public DateTimeOffset StartedAt { get; }

    public bool IsPlaying => _delivery.IsPlaying;

    public bool IsEnded => Volatile.Read(ref _ended) != 0;

    public long BytesSent => Interlocked.Read(ref _bytesSent);

    public long PacketsSent => Interlocked.Read(ref _packetsSent);

    /// <summary>Gets the frames skipped because this reader fell behind (this play).</summary>
    public long SkippedFrames => _delivery.Skipped;

    /// <summary>Gets a copy of the latest RTCP receiver report per track.</summary>
    public IReadOnlyList<(int Track, ReportBlock Report)> ReceiverReportsSnapshot
    {
        get
        {
            lock (_gate)
            {
                return _receiverReports.Select(r => (r.Key, r.Value)).ToArray();
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

    /// <summary>Gets the session's logger (its deliveries log through it).</summary>
    internal ILogger Logger { get; }

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
    /// Called by <see cref="RtspMedia"/> under its lock for every frame; never waits on the reader (see the
    /// deliveries for how each transport keeps that promise).
    /// </summary>
    /// <param name="frame">The frame (borrowed).</param>
    /// <param name="batch">For UDP, the batch the delivering thread flushes after offering to every session.</param>
    public void Offer(RtpFrame frame, UdpBatch? batch = null)
    {
        if (frame.TrackIndex < 32 && (Volatile.Read(ref _wantedTracks) & (1 << frame.TrackIndex)) != 0)
        {
            _delivery.Offer(frame, batch);
        }
    }

    /// <summary>Called by <see cref="RtspMedia.Play"/> under the media lock: prepares delivery from the next frame on.</summary>
    public void BeginPlay(int syncTrack, FrameQueueOptions options)
    {
        Interlocked.Exchange(ref _playStarted, _server.Time.GetTimestamp());
        _delivery.BeginPlay(Transports, syncTrack, options);
    }

    /// <summary>Starts sending (after the PLAY response was written).</summary>
    public void StartSending() => _delivery.StartSending();

    /// <summary>Stops playing (PAUSE); the session keeps its tracks.</summary>
    public void Pause()
    {
        Media.Stop(this);
        _delivery.Stop();
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
        _delivery.Stop();
        _server.Forget(this);
        _lease.Dispose();
        Log.SessionEnded(Logger, Id, Media.Stream.Name, reason, BytesSent);
        if (closeConnection)
        {
            Connection.Abort(reason);
        }
    }

    /// <inheritdoc />
    public void Dispose() => End("disposed");

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
                _receiverReports[track] = report;
            }
        }
    }

    /// <summary>Counts what a delivery sent: RTP packets and their bytes (the session's and the stream's outbound counts).</summary>
    internal void CountSent(int packets, long bytes)
    {
        Interlocked.Add(ref _bytesSent, bytes);
        Interlocked.Add(ref _packetsSent, packets);
        Media.CountSent(IsTcp, bytes);

        var started = Interlocked.Exchange(ref _playStarted, 0);
        if (started != 0 && packets > 0)
        {
            _server.Metrics?.FirstFrameSent(IsTcp, _server.Time.GetElapsedTime(started));
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventIds.RtspSessionEnded, LogLevel.Information, "RTSP session {Session} on {Stream} ended: {Reason} ({Bytes} bytes sent).")]
        public static partial void SessionEnded(ILogger logger, string session, string stream, string reason, long bytes);
    }
}

/// <summary>How a session's frames reach its reader; one per session, for the transport chosen at SETUP.</summary>
internal abstract class SessionDelivery
{
    /// <summary>Gets a value indicating whether frames are being delivered (between PLAY and PAUSE/TEARDOWN).</summary>
    public abstract bool IsPlaying { get; }

    /// <summary>Gets the frames skipped because the reader fell behind (this play).</summary>
    public abstract long Skipped { get; }

    /// <summary>Delivers or queues a frame; called under the media's lock, so it never waits on the reader.</summary>
    public abstract void Offer(RtpFrame frame, UdpBatch? batch);

    /// <summary>Prepares delivery from the next frame on (PLAY), to the tracks set up.</summary>
    public abstract void BeginPlay(IReadOnlyList<TrackTransport> transports, int syncTrack, FrameQueueOptions options);

    /// <summary>Starts sending (the PLAY response was written).</summary>
    public abstract void StartSending();

    /// <summary>Stops delivering (PAUSE, TEARDOWN); frames held are released.</summary>
    public abstract void Stop();
}
