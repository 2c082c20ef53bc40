using System.Collections.Concurrent;

using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Relay.Configuration;
using Relay.Server.Auth;
using Relay.Server.Streams;

namespace Relay.Server.Rtsp;

/// <summary>
/// The RTSP server's shared state: sessions, the per-stream <see cref="RtspMedia"/>, the UDP sockets, and the
/// housekeeping timer (RTCP sender reports every 5 s, UDP session timeouts). Connections are served by
/// <see cref="RtspConnectionHandler"/> on Kestrel.
/// </summary>
internal sealed partial class RtspServer : IHostedService, IAsyncDisposable
{
    private static readonly TimeSpan ReportInterval = TimeSpan.FromSeconds(5);

    private readonly ConcurrentDictionary<string, RtspSession> _sessions = new(StringComparer.OrdinalIgnoreCase);
    private readonly ConcurrentDictionary<IPEndPoint, (RtspSession Session, int Track)> _rtcpRoutes = new();
    private readonly Dictionary<StreamHub, RtspMedia> _media = []; // guarded by itself
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stop = new();
    private UdpTransport? _udp;
    private ITimer? _timer;
    private long _lastReport;
    private Task _receivers = Task.CompletedTask;
    private int _stopped;

    public RtspServer(RelayConfig config, IStreamCatalog catalog, AccessControl access, TimeProvider time, ILoggerFactory loggers, IRtspMetrics? metrics = null)
    {
        Access = access;
        Metrics = metrics;
        Config = config.Rtsp;
        Catalog = catalog;
        Time = time;
        Loggers = loggers;
        _logger = loggers.CreateLogger<RtspServer>();
        _refusals = new ReportThrottle(time, TimeSpan.FromSeconds(10));
        _sessionRefusals = new ReportThrottle(time, TimeSpan.FromSeconds(10));
    }

    public RtspServerConfig Config { get; }

    public IStreamCatalog Catalog { get; }

    /// <summary>Gets who may read what (users, Digest nonces, failed-attempt limits).</summary>
    public AccessControl Access { get; }

    public TimeProvider Time { get; }

    public ILoggerFactory Loggers { get; }

    /// <summary>Gets the metrics, when the host has them.</summary>
    public IRtspMetrics? Metrics { get; }

    /// <summary>Gets how each stream is served so far (for metrics).</summary>
    public IReadOnlyList<RtspMedia> Media
    {
        get
        {
            lock (_media)
            {
                return _media.Values.Where(m => !m.IsEnded).ToArray();
            }
        }
    }

    /// <summary>Gets the UDP sockets (bound at start).</summary>
    /// <exception cref="InvalidOperationException">The server has not started.</exception>
    public UdpTransport Udp => _udp ?? throw new InvalidOperationException("The RTSP server's UDP sockets are not bound yet.");

    public bool IsUdpReady => _udp is not null;

    /// <summary>Gets the number of open RTSP connections.</summary>
    public int ConnectionCount => Volatile.Read(ref _connections);

    public IReadOnlyCollection<RtspSession> Sessions => _sessions.Values.ToArray();

    private int _connections;
    private readonly ConcurrentDictionary<IPAddress, int> _connectionsByAddress = new();
    private readonly ReportThrottle _refusals; // refused connections, reported at most every 10 s
    private readonly ReportThrottle _sessionRefusals; // refused SETUPs, likewise

    /// <summary>
    /// Counts a new connection from <paramref name="address"/> against the limits: all connections, and those of one
    /// address. Returns null when it may be served (<see cref="CloseConnection"/> must follow), else the limit it hit.
    /// </summary>
    public string? TryOpenConnection(IPAddress address)
    {
        if (Interlocked.Increment(ref _connections) > Config.MaxConnections)
        {
            Interlocked.Decrement(ref _connections);
            return Refused("max_connections", address);
        }

        if (_connectionsByAddress.AddOrUpdate(address, 1, (_, n) => n + 1) > Config.MaxConnectionsPerAddress)
        {
            CloseConnection(address);
            return Refused("per_address", address);
        }

        return null;
    }

    /// <summary>Forgets a connection counted by <see cref="TryOpenConnection"/>.</summary>
    public void CloseConnection(IPAddress address)
    {
        Interlocked.Decrement(ref _connections);
        while (_connectionsByAddress.TryGetValue(address, out var n))
        {
            var removed = n <= 1
                ? _connectionsByAddress.TryRemove(KeyValuePair.Create(address, n))
                : _connectionsByAddress.TryUpdate(address, n - 1, n);
            if (removed)
            {
                break;
            }
        }
    }

    /// <summary>Counts a SETUP refused by a session limit, and logs it (at most every 10 s, with a count).</summary>
    public void RefuseSession(string reason, IPAddress address)
    {
        Metrics?.SessionRefused(reason);
        if (_sessionRefusals.Count(out var refused))
        {
            Log.SessionsRefused(_logger, refused, reason == "per_address" ? "MaxSessionsPerAddress" : "MaxSessionsPerConnection", address.ToString());
        }
    }

    private string Refused(string reason, IPAddress address)
    {
        Metrics?.ConnectionRefused(reason);
        if (_refusals.Count(out var refused))
        {
            Log.ConnectionsRefused(_logger, refused, reason, address.ToString());
        }

        return reason;
    }

    /// <summary>Gets (creating on first use) how <paramref name="stream"/> is served over RTSP.</summary>
    public RtspMedia GetMedia(StreamHub stream)
    {
        lock (_media)
        {
            if (_media.TryGetValue(stream, out var media) && !media.IsEnded)
            {
                return media;
            }

            media = new RtspMedia(stream, Config, Time, _udp);
            stream.Subscribe(media, StartAt.Keyframe);
            _media[stream] = media;
            return media;
        }
    }

    public void Register(RtspSession session)
    {
        _sessions[session.Id] = session;
        session.Connection.Add(session);
    }

    public bool TryGetSession(string id, out RtspSession session) => _sessions.TryGetValue(id, out session!);

    /// <summary>Counts the sessions of one client address (for <see cref="RtspServerConfig.MaxSessionsPerAddress"/>).</summary>
    public int SessionCount(IPAddress address)
    {
        var count = 0;
        foreach (var session in _sessions.Values)
        {
            if (session.Connection.RemoteAddress.Equals(address))
            {
                count++;
            }
        }

        return count;
    }

    public void AddRtcpRoute(IPEndPoint from, RtspSession session, int track) => _rtcpRoutes[from] = (session, track);

    /// <summary>Forgets an ended session (called by the session itself).</summary>
    public void Forget(RtspSession session)
    {
        _sessions.TryRemove(session.Id, out _);
        session.Connection.Remove(session);
        foreach (var transport in session.Transports)
        {
            if (transport.RtcpEndPoint is not null)
            {
                _rtcpRoutes.TryRemove(KeyValuePair.Create(transport.RtcpEndPoint, (session, transport.Track)));
            }
        }
    }

    /// <inheritdoc />
    public Task StartAsync(CancellationToken cancellationToken)
    {
        var address = string.Equals(Config.Address, "localhost", StringComparison.OrdinalIgnoreCase) ? IPAddress.Loopback : IPAddress.Parse(Config.Address);
        try
        {
            _udp = new UdpTransport(address, Config.RtpPort, Config.RtcpPort);
        }
        catch (SocketException e)
        {
            throw new System.IO.IOException($"RTSP UDP ports {Config.Address}:{Config.RtpPort}/{Config.RtcpPort} cannot be bound: {e.Message}", e);
        }

        // Only the RTCP socket is read. The RTP socket is never used asynchronously: an async operation would
        // register it with the runtime's epoll loop, whose thread then wakes for every send that frees buffer
        // space (measured: ~1,300 wake-ups a second at 50 UDP readers). What readers send to it is dropped by
        // the kernel once its small receive buffer is full.
        _receivers = Task.Run(() => ReceiveRtcpAsync(_udp.RtcpSocket, _stop.Token));
        _lastReport = Time.GetTimestamp();
        _timer = Time.CreateTimer(_ => Housekeeping(), null, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1));
        Log.UdpBound(_logger, _udp.RtpPort, _udp.RtcpPort);
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (Interlocked.Exchange(ref _stopped, 1) != 0)
        {
            return;
        }

        _timer?.Dispose();
        foreach (var session in _sessions.Values)
        {
            session.End("the relay is shutting down");
        }

        await _stop.CancelAsync();
        _udp?.Dispose();
        try
        {
            await _receivers.WaitAsync(TimeSpan.FromSeconds(2), CancellationToken.None);
        }
        catch (Exception e) when (e is TimeoutException or OperationCanceledException or SocketException or ObjectDisposedException)
        {
            // The sockets are closed; the loops end on their own.
        }
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync() => await StopAsync(CancellationToken.None);

    private void Housekeeping()
    {
        try
        {
            foreach (var session in _sessions.Values)
            {
                // A playing TCP session lives as long as its connection; a UDP one needs requests or RTCP (RFC 2326
                // §12.37); one set up and never played ends like a UDP one, so it cannot hold its stream's lease forever.
                if ((!session.IsTcp || !session.IsPlaying) && session.IdleFor > Config.SessionTimeout)
                {
                    Log.SessionTimedOut(_logger, session.Id, session.Media.Stream.Name);
                    session.End("session timeout");
                }
            }

            if (Time.GetElapsedTime(_lastReport) >= ReportInterval)
            {
                _lastReport = Time.GetTimestamp();
                RtspMedia[] media;
                lock (_media)
                {
                    foreach (var ended in _media.Where(m => m.Value.IsEnded).Select(m => m.Key).ToArray())
                    {
                        _media.Remove(ended);
                    }

                    media = _media.Values.ToArray();
                }

                foreach (var m in media)
                {
                    m.SendReports();
                }
            }
        }
        catch (Exception e)
        {
            Log.HousekeepingFailed(_logger, e);
        }
    }

    private async Task ReceiveRtcpAsync(Socket socket, CancellationToken cancellationToken)
    {
        var buffer = new byte[2048];
        var address = new SocketAddress(socket.AddressFamily);
        var template = new IPEndPoint(socket.AddressFamily == AddressFamily.InterNetworkV6 ? IPAddress.IPv6Any : IPAddress.Any, 0);
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                var received = await socket.ReceiveFromAsync(buffer, SocketFlags.None, address, cancellationToken);
                var from = (IPEndPoint)template.Create(address);
                if (_rtcpRoutes.TryGetValue(from, out var route))
                {
                    route.Session.OnRtcp(route.Track, buffer.AsSpan(0, received));
                }
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException)
            {
                return;
            }
            catch (SocketException)
            {
                // ICMP errors surface here on some systems; keep receiving.
            }
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventIds.RtspListening, LogLevel.Information, "RTSP UDP: RTP from port {RtpPort}, RTCP on port {RtcpPort}.")]
        public static partial void UdpBound(ILogger logger, int rtpPort, int rtcpPort);

        [LoggerMessage(EventIds.RtspLimit + 1, LogLevel.Warning, "{Count} RTSP connection(s) refused since the last report; latest: limit {Limit}, from {Client} (Relay:Rtsp:MaxConnections, MaxConnectionsPerAddress).")]
        public static partial void ConnectionsRefused(ILogger logger, long count, string limit, string client);

        [LoggerMessage(EventIds.RtspLimit, LogLevel.Warning, "{Count} RTSP SETUP(s) refused since the last report; latest: limit Relay:Rtsp:{Limit}, from {Client}.")]
        public static partial void SessionsRefused(ILogger logger, long count, string limit, string client);

        [LoggerMessage(EventIds.RtspSessionTimedOut, LogLevel.Information, "RTSP session {Session} on {Stream} timed out.")]
        public static partial void SessionTimedOut(ILogger logger, string session, string stream);

        [LoggerMessage(EventIds.RtspUdpError, LogLevel.Error, "RTSP housekeeping failed.")]
        public static partial void HousekeepingFailed(ILogger logger, Exception exception);
    }
}
