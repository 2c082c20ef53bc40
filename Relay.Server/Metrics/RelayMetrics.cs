using System.Globalization;
using Prometheus;
using Relay.Configuration;
using Relay.Media;

namespace Relay.Server.Metrics;

/// <summary>
/// Relay's Prometheus metrics (prometheus-net), in a registry of their own per relay instance. Names use the
/// <c>relay_</c> prefix, base units and <c>_total</c> counters; labels are bounded: stream name (from the
/// configuration), protocol, track kind, state, reason, RTSP method and status — never a URL or a client address.
/// Per-stream values are read from snapshots at scrape time (<see cref="MetricsCollector"/>); events that have no
/// snapshot (connect durations, time to first frame, RTSP requests) are observed as they happen.
/// </summary>
internal sealed class RelayMetrics : Rtsp.IRtspMetrics
{
    /// <summary>Protocol label values of RTSP readers.</summary>
    public static readonly string[] Protocols = [Protocol(tcp: true), Protocol(tcp: false)];

    /// <summary>The protocol label of HLS players.</summary>
    public const string Hls = "hls";

    /// <summary>The protocol label of MJPEG viewers.</summary>
    public const string Mjpeg = "mjpeg";

    /// <summary>Protocol label values of every kind of reader.</summary>
    public static readonly string[] ReaderProtocols = [.. Protocols, Hls, Mjpeg];

    private static readonly double[] LatencyBuckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
    private static readonly double[] ConnectBuckets = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

    public RelayMetrics(string version, string gstreamerVersion)
    {
        Registry = Prometheus.Metrics.NewCustomRegistry();
        DotNetStats.Register(Registry);
        var factory = Prometheus.Metrics.WithCustomRegistry(Registry);

        BuildInfo = factory.CreateGauge("relay_build_info", "Relay build information; always 1.", "version", "gstreamer");
        BuildInfo.WithLabels(version, gstreamerVersion).Set(1);
        StreamUp = factory.CreateGauge("relay_stream_up", "1 when the stream's source is delivering media, else 0.", "stream");
        StreamState = factory.CreateGauge("relay_stream_state", "1 for the stream's current source state, 0 for the others.", "stream", "state");
        Readers = factory.CreateGauge("relay_stream_readers", "Readers connected to the stream, by protocol.", "stream", "protocol");
        InboundBytes = factory.CreateCounter("relay_stream_inbound_bytes_total", "Bytes of media received from the source.", "stream");
        InboundFrames = factory.CreateCounter("relay_stream_inbound_frames_total", "Frames received from the source, by track kind.", "stream", "kind");
        OutboundBytes = factory.CreateCounter("relay_stream_outbound_bytes_total", "Bytes of media sent to readers, by protocol.", "stream", "protocol");
        KeyframeInterval = factory.CreateGauge("relay_stream_keyframe_interval_seconds", "Time between the last two keyframes of the stream's video.", "stream");
        LastFrameAge = factory.CreateGauge("relay_source_last_frame_age_seconds", "Time since the last frame arrived from the source.", "stream");
        Reconnects = factory.CreateCounter("relay_source_reconnects_total", "Source reconnections, by the reason the previous connection or attempt ended.", "stream", "reason");
        AuthFailures = factory.CreateCounter("relay_source_auth_failures_total", "Connection attempts the camera refused for bad credentials.", "stream");
        ConnectDuration = factory.CreateHistogram(
            "relay_source_connect_duration_seconds",
            "Time from a connection attempt to the first media.",
            new HistogramConfiguration { LabelNames = ["stream"], Buckets = ConnectBuckets });
        TimeToFirstFrame = factory.CreateHistogram(
            "relay_time_to_first_frame_seconds",
            "Time from a reader's PLAY to its first frame being sent, by protocol.",
            new HistogramConfiguration { LabelNames = ["protocol"], Buckets = LatencyBuckets });
        DroppedFrames = factory.CreateCounter("relay_reader_dropped_frames_total", "Frames skipped for readers that fell behind, by protocol.", "stream", "protocol");
        ReaderFractionLost = factory.CreateGauge("relay_reader_rtcp_fraction_lost", "Highest packet loss fraction readers reported in RTCP receiver reports.", "stream");
        ReaderJitter = factory.CreateGauge("relay_reader_rtcp_jitter_seconds", "Highest interarrival jitter readers reported in RTCP receiver reports.", "stream");
        ChannelSwitches = factory.CreateCounter("relay_channel_switches_total", "Times a channel switched from one stream to another.", "channel");
        HlsBytesHeld = factory.CreateGauge("relay_hls_held_bytes", "Bytes of HLS segments and parts a stream's muxer holds in memory (0 while no one watches).", "stream");
        RtspRequests = factory.CreateCounter("relay_rtsp_requests_total", "RTSP requests answered, by method and status code.", "method", "status");
        RtspConnections = factory.CreateGauge("relay_rtsp_connections", "Open RTSP connections.");
        RtspRefusedConnections = factory.CreateCounter("relay_rtsp_refused_connections_total", "RTSP connections refused at once, by the limit they hit (max_connections, per_address).", "reason");
        PushUp = factory.CreateGauge("relay_push_up", "1 while a push target is sending media, else 0.", "stream", "target");
        PushBytes = factory.CreateCounter("relay_push_bytes_total", "Media bytes handed to a push target's pipeline.", "stream", "target");
        PushReconnects = factory.CreateCounter("relay_push_reconnects_total", "Times a push target connected again after a failure.", "stream", "target");
        RtspTimeouts = factory.CreateCounter("relay_rtsp_timeouts_total", "RTSP connections closed by a timeout: request (a request not completed in time, slow-loris), idle (no session, nothing sent), response (the client reads nothing).", "kind");
        RtspRefusedSessions = factory.CreateCounter("relay_rtsp_refused_sessions_total", "RTSP SETUPs refused by a session limit (per_connection, per_address).", "reason");
        ClientAuthFailures = factory.CreateCounter("relay_auth_failures_total", "Failed authentications (wrong or unknown credentials, a disallowed address), by protocol (rtsp, http).", "protocol");
        AuthRefused = factory.CreateCounter("relay_auth_refused_total", "Requests refused at once because their address failed to authenticate too often, by protocol.", "protocol");
        AuthBlockedAddresses = factory.CreateGauge("relay_auth_blocked_addresses", "Client addresses refused for now after too many failed authentications.");
        CallbackFailures = factory.CreateCounter("relay_gstreamer_callback_failures_total", "GStreamer callbacks that failed (their event was dropped).");
    }

    public CollectorRegistry Registry { get; }

    public Gauge BuildInfo { get; }

    public Gauge StreamUp { get; }

    public Gauge StreamState { get; }

    public Gauge Readers { get; }

    public Counter InboundBytes { get; }

    public Counter InboundFrames { get; }

    public Counter OutboundBytes { get; }

    public Gauge KeyframeInterval { get; }

    public Gauge LastFrameAge { get; }

    public Counter Reconnects { get; }

    public Counter AuthFailures { get; }

    public Histogram ConnectDuration { get; }

    public Histogram TimeToFirstFrame { get; }

    public Counter DroppedFrames { get; }

    public Gauge ReaderFractionLost { get; }

    public Gauge ReaderJitter { get; }

    public Gauge HlsBytesHeld { get; }

    public Counter ChannelSwitches { get; }

    public Counter RtspRequests { get; }

    public Gauge RtspConnections { get; }

    /// <summary>Gets the RTSP connections refused by a limit, by reason.</summary>
    public Counter RtspRefusedConnections { get; }

    public Counter CallbackFailures { get; }

    public Counter ClientAuthFailures { get; }

    public Counter RtspRefusedSessions { get; }

    public Counter RtspTimeouts { get; }

    public Gauge PushUp { get; }

    public Counter PushBytes { get; }

    public Counter PushReconnects { get; }

    public Counter AuthRefused { get; }

    public Gauge AuthBlockedAddresses { get; }

    /// <summary>The label value of a reason.</summary>
    public static string Reason(RelayError error) => error switch
    {
        RelayError.None => "stopped",
        RelayError.SourceUnreachable => "unreachable",
        RelayError.SourceTimedOut => "timed_out",
        RelayError.SourceUnauthorized => "unauthorized",
        RelayError.SourceNotFound => "not_found",
        RelayError.SourceEnded => "ended",
        RelayError.SourceStalled => "stalled",
        RelayError.UnsupportedCodec => "unsupported_codec",
        _ => "pipeline_error",
    };

    /// <summary>The label value of an RTSP reader's transport.</summary>
    public static string Protocol(bool tcp) => tcp ? "rtsp_tcp" : "rtsp_udp";

    /// <summary>The label value of a track kind.</summary>
    public static string Kind(MediaKind kind) => kind.ToString().ToLowerInvariant();

    /// <summary>The label value of a state.</summary>
    public static string State(Relay.Configuration.StreamState state) => state.ToString().ToLowerInvariant();

    /// <summary>The label value of an RTSP method (unknown methods are "other", so the label stays bounded).</summary>
    public static string Method(string method) => method switch
    {
        "OPTIONS" or "DESCRIBE" or "SETUP" or "PLAY" or "PAUSE" or "TEARDOWN" or "GET_PARAMETER" or "SET_PARAMETER" or "ANNOUNCE" or "RECORD" => method,
        _ => "other",
    };

    /// <inheritdoc />
    void Rtsp.IRtspMetrics.RequestAnswered(string method, int status) =>
        RtspRequests.WithLabels(Method(method), status.ToString(CultureInfo.InvariantCulture)).Inc();

    /// <inheritdoc />
    void Rtsp.IRtspMetrics.MalformedRequest(int status) => RtspRequests.WithLabels("malformed", status.ToString(CultureInfo.InvariantCulture)).Inc();

    /// <inheritdoc />
    void Rtsp.IRtspMetrics.ConnectionTimedOut(string kind) => RtspTimeouts.WithLabels(kind).Inc();

    /// <inheritdoc />
    void Rtsp.IRtspMetrics.ConnectionRefused(string reason) => RtspRefusedConnections.WithLabels(reason).Inc();

    /// <inheritdoc />
    void Rtsp.IRtspMetrics.SessionRefused(string reason) => RtspRefusedSessions.WithLabels(reason).Inc();

    /// <inheritdoc />
    void Rtsp.IRtspMetrics.FirstFrameSent(bool tcp, TimeSpan sincePlay) => TimeToFirstFrame.WithLabels(Protocol(tcp)).Observe(sincePlay.TotalSeconds);

    /// <summary>Removes a deleted channel's series.</summary>
    public void ForgetChannel(string channel) => ChannelSwitches.RemoveLabelled(channel);

    /// <summary>Removes every series of a stream that went away.</summary>
    public void ForgetStream(string stream)
    {
        StreamUp.RemoveLabelled(stream);
        InboundBytes.RemoveLabelled(stream);
        KeyframeInterval.RemoveLabelled(stream);
        LastFrameAge.RemoveLabelled(stream);
        AuthFailures.RemoveLabelled(stream);
        ConnectDuration.RemoveLabelled(stream);
        ReaderFractionLost.RemoveLabelled(stream);
        ReaderJitter.RemoveLabelled(stream);
        HlsBytesHeld.RemoveLabelled(stream);
        foreach (var state in Enum.GetValues<Relay.Configuration.StreamState>())
        {
            StreamState.RemoveLabelled(stream, State(state));
        }

        foreach (var protocol in ReaderProtocols)
        {
            Readers.RemoveLabelled(stream, protocol);
            OutboundBytes.RemoveLabelled(stream, protocol);
            DroppedFrames.RemoveLabelled(stream, protocol);
        }

        foreach (var kind in Enum.GetValues<MediaKind>())
        {
            InboundFrames.RemoveLabelled(stream, Kind(kind));
        }

        foreach (var error in Enum.GetValues<RelayError>())
        {
            Reconnects.RemoveLabelled(stream, Reason(error));
        }
    }
}
