using Relay.Api;
using Relay.Configuration;
using Relay.Media;
using Relay.Server.Api;
using Relay.Server.Configuration;
using Relay.Server.Hls;
using Relay.Server.Mjpeg;
using Relay.Server.Rtsp;
using Relay.Server.Streams;

namespace Relay.Server.Hosting;

/// <summary>Builds the status API's view of each stream from its runtime, its hub and the servers' readers.</summary>
internal sealed class StreamDirectory(StreamManager streams, RtspServer rtsp, HlsServer hls, MjpegServer mjpeg, RelayEndpoints endpoints) : IStreamDirectory
{
    /// <summary>An HLS player (which has no session) counts as a reader while it made a request within this window.</summary>
    public static readonly TimeSpan HlsViewerWindow = TimeSpan.FromSeconds(10);

    /// <inheritdoc />
    public ServerInfo GetServer() => new(RelayApp.Version, GStreamer.GstRuntime.Version, endpoints.Rtsp?.Port ?? 0);

    /// <inheritdoc />
    public StreamConfig? GetConfig(string name) => streams.TryGet(name, out var runtime) ? runtime.Config : null;

    /// <inheritdoc />
    public string ETag(StreamConfig config) => streams.ETag(config);

    /// <inheritdoc />
    public Task<bool> EditAsync(string name, Func<StreamConfig?, StreamEdit> plan) => streams.EditAsync(name.Trim('/'), plan);

    /// <inheritdoc />
    public IReadOnlyList<ChannelStatus> GetChannels() => streams.Channels.Select(Describe).ToArray();

    /// <inheritdoc />
    public ChannelStatus? GetChannel(string name) => streams.TryGetChannel(name, out var channel) ? Describe(channel) : null;

    /// <inheritdoc />
    public ChannelConfig? GetChannelConfig(string name) => streams.TryGetChannel(name, out var channel) ? channel.Config : null;

    /// <inheritdoc />
    public string ETag(ChannelConfig config) => streams.ETag(config);

    /// <inheritdoc />
    public Task<bool> EditChannelAsync(string name, Func<ChannelConfig?, ChannelEdit> plan) => streams.EditChannelAsync(name.Trim('/'), plan);

    /// <inheritdoc />
    public IReadOnlyList<StreamStatus> GetAll()
    {
        var sessions = rtsp.Sessions.ToLookup(s => s.Media.Stream.Name, StringComparer.OrdinalIgnoreCase);
        return streams.Streams.Select(r => Describe(r, sessions[r.Name])).ToArray();
    }

    /// <inheritdoc />
    public StreamStatus? Get(string name) =>
        streams.TryGet(name, out var runtime)
            ? Describe(runtime, rtsp.Sessions.Where(s => string.Equals(s.Media.Stream.Name, runtime.Name, StringComparison.OrdinalIgnoreCase)))
            : null;

    private StreamStatus Describe(StreamRuntime runtime, IEnumerable<RtspSession> sessions)
    {
        var status = runtime.Status;
        var stream = runtime.Stream;
        var statistics = stream.Statistics;
        return new StreamStatus
        {
            Name = runtime.Name,
            State = status.State,
            Since = status.Since,
            Source = runtime.Source,
            Origin = streams.IsFromApi(runtime.Name) ? "api" : "config",
            Settings = StreamSettings.ForResponse(runtime.Config),
            OnDemand = runtime.Config.OnDemand,
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
        };
    }

    private ChannelStatus Describe(Channel channel)
    {
        var stream = channel.Output;
        return new ChannelStatus
        {
            Name = channel.Name,
            Stream = channel.Config.Stream,
            Origin = streams.IsChannelFromApi(channel.Name) ? "api" : "config",
            StreamExists = channel.Source is not null,
            Online = stream.IsOnline,
            Switches = channel.Switches,
            LastSwitch = channel.LastSwitch,
            Tracks = TracksOf(stream),
            Readers = ReadersOf(stream, rtsp.Sessions.Where(s => ReferenceEquals(s.Media.Stream, stream))),
        };
    }

    private static TrackStatus[] TracksOf(Streams.Stream stream) =>
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

    private ReaderStatus[] ReadersOf(Streams.Stream stream, IEnumerable<RtspSession> sessions) =>
        sessions.Select(s => new ReaderStatus(
            s.IsTcp ? "rtsp/tcp" : "rtsp/udp",
            s.Connection.RemoteAddress.ToString(),
            s.StartedAt,
            s.BytesSent,
            s.SkippedFrames,
            s.Id))
            .Concat(hls.Find(stream)?.Viewers(HlsViewerWindow).Select(v => new ReaderStatus("hls", v.Address.ToString(), v.Since, v.Bytes, 0, null)) ?? [])
            .Concat(mjpeg.ViewersOf(stream.Name).Select(v => new ReaderStatus("mjpeg", v.Address?.ToString() ?? "unknown", v.Since, v.BytesSent, v.Skipped, null)))
            .ToArray();
}
