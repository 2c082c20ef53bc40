using Relay.Api;
using Relay.Configuration;
using Relay.Media;
using Relay.Server.Hosting;
using Relay.Server.Configuration;
using Relay.Server.Hls;
using Relay.Server.Mjpeg;
using Relay.Server.Rtsp;
using Relay.Server.Streams;

namespace Relay.Server.Api;

/// <summary>
/// The status API's view of the streams and channels: each one's state from the registry, with its readers from the
/// servers (RTSP sessions, HLS players, MJPEG viewers).
/// </summary>
internal sealed class StatusView(StreamRegistry registry, RtspServer rtsp, HlsServer hls, MjpegServer mjpeg, RelayEndpoints endpoints)
{
    /// <summary>Gets what clients need to know about the relay (version, RTSP port).</summary>
    public ServerInfo Server() => new(RelayApp.Version, GStreamer.GstRuntime.Version, endpoints.Rtsp?.Port ?? 0, registry.NodeName);

    /// <summary>Gets every stream's status, by name.</summary>
    public IReadOnlyList<StreamStatus> Streams()
    {
        var sessions = rtsp.Sessions.ToLookup(s => s.Media.Stream.Name, StringComparer.OrdinalIgnoreCase);
        return registry.Streams.Select(s => Describe(s, sessions[s.Name]))
            .Concat(registry.Elsewhere.Select(DescribeElsewhere))
            .OrderBy(s => s.Name, StringComparer.OrdinalIgnoreCase)
            .ToArray();
    }

    /// <summary>Gets one stream's status, or null when there is no such stream.</summary>
    public StreamStatus? Stream(string name) =>
        registry.FindStream(name) is { } stream
            ? Describe(stream, rtsp.Sessions.Where(s => ReferenceEquals(s.Media.Stream, stream.Hub)))
            : registry.ConfigOf(name) is { } elsewhere ? DescribeElsewhere(elsewhere) : null;

    /// <summary>Gets every channel's status, by name.</summary>
    public IReadOnlyList<ChannelStatus> Channels() => registry.Channels.Select(Describe).ToArray();

    /// <summary>Gets one channel's status, or null when there is no such channel.</summary>
    public ChannelStatus? Channel(string name) => registry.FindChannel(name) is { } channel ? Describe(channel) : null;

    private StreamStatus Describe(PulledStream pulled, IEnumerable<RtspSession> sessions)
    {
        var status = pulled.Status;
        var stream = pulled.Hub;
        var statistics = stream.Statistics;
        return new StreamStatus
        {
            Name = pulled.Name,
            State = status.State,
            Since = status.Since,
            Source = pulled.Source,
            Origin = registry.IsFromApi(pulled.Name) ? "api" : "config",
            Settings = StreamSettings.ForResponse(pulled.Config),
            Nodes = pulled.Config.Nodes,
            OnDemand = pulled.Config.OnDemand,
            Online = stream.IsOnline,
            Ready = stream.IsReady,
            Epochs = stream.Epochs,
            Reconnects = status.Reconnects,
            LastError = status.LastErrorMessage is { } message ? new StreamError(status.LastError, message, status.LastErrorAt ?? status.Since) : null,
            LastFrameAgeSeconds = statistics.LastUnitAge?.TotalSeconds,
            InboundBytes = statistics.Bytes,
            InboundFrames = statistics.Units,
            Tracks = TracksOf(stream),
            Readers = ReadersOf(stream, sessions),
            Push = PushOf(pulled),
        };
    }

    /// <summary>Each push target: the running ones' status, and the disabled ones as such.</summary>
    private IReadOnlyList<PushStatus> PushOf(PulledStream pulled)
    {
        var running = pulled.Pushers.ToDictionary(p => p.Target.Name, p => p.Status(), StringComparer.Ordinal);
        return pulled.Config.Push.Select(t => running.GetValueOrDefault(t.Name) ?? new PushStatus
        {
            Name = t.Name,
            Url = Sources.SourceUri.Redact(new Uri(t.Url)),
            State = t.Enabled ? "waiting" : "disabled",
            Since = registry.Started,
            Bytes = 0,
            Reconnects = 0,
            SkippedFrames = 0,
        }).ToList();
    }

    /// <summary>Describes a stream another node pulls: its settings and where it is, nothing live.</summary>
    private StreamStatus DescribeElsewhere(StreamConfig config) => new()
    {
        Name = config.Name,
        State = StreamState.Elsewhere,
        Since = registry.Started,
        Source = Sources.SourceUri.Redact(config.Source),
        Origin = registry.IsFromApi(config.Name) ? "api" : "config",
        Settings = StreamSettings.ForResponse(config),
        Nodes = config.Nodes,
        OnDemand = config.OnDemand,
        Online = false,
        Ready = false,
        Epochs = 0,
        Reconnects = 0,
        InboundBytes = 0,
        InboundFrames = 0,
        Tracks = [],
        Readers = [],
    };

    private ChannelStatus Describe(Channel channel)
    {
        var stream = channel.Hub;
        return new ChannelStatus
        {
            Name = channel.Name,
            Stream = channel.Config.Stream,
            Origin = registry.IsChannelFromApi(channel.Name) ? "api" : "config",
            StreamExists = channel.Source is not null,
            Online = stream.IsOnline,
            Switches = channel.Switches,
            LastSwitch = channel.LastSwitch,
            Tracks = TracksOf(stream),
            Readers = ReadersOf(stream, rtsp.Sessions.Where(s => ReferenceEquals(s.Media.Stream, stream))),
        };
    }

    private static TrackStatus[] TracksOf(StreamHub stream) =>
        stream.Tracks.Select(t => new TrackStatus(
            t.Index,
            t.Kind,
            t.Codec == Codec.Passthrough ? t.EncodingName ?? "unknown" : t.Codec.ToString().ToLowerInvariant(),
            t.ClockRate,
            t.Width,
            t.Height,
            t.FrameRate,
            t.Kind == MediaKind.Audio ? t.Channels : null,
            stream.BitrateOf(t.Index))).ToArray();

    private ReaderStatus[] ReadersOf(StreamHub stream, IEnumerable<RtspSession> sessions) =>
        sessions.Select(s => new ReaderStatus(
            s.IsTcp ? "rtsp/tcp" : "rtsp/udp",
            s.Connection.RemoteAddress.ToString(),
            s.StartedAt,
            s.BytesSent,
            s.SkippedFrames,
            s.Id))
            .Concat(hls.Find(stream)?.Viewers(HlsServer.ViewerWindow).Select(v => new ReaderStatus("hls", v.Address.ToString(), v.Since, v.Bytes, 0, null)) ?? [])
            .Concat(mjpeg.ViewersOf(stream.Name).Select(v => new ReaderStatus("mjpeg", v.Address?.ToString() ?? "unknown", v.Since, v.BytesSent, v.Skipped, null)))
            .ToArray();
}
