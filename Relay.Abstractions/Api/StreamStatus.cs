using Relay.Configuration;
using Relay.Media;

namespace Relay.Api;

/// <summary>A stream as the status API reports it (<c>GET /api/v1/streams</c>). Source URLs are redacted.</summary>
public sealed record StreamStatus
{
    /// <summary>Gets the stream's name (its path).</summary>
    public required string Name { get; init; }

    /// <summary>Gets where the source is in its lifecycle.</summary>
    public required StreamState State { get; init; }

    /// <summary>Gets when the stream entered <see cref="State"/>.</summary>
    public required DateTimeOffset Since { get; init; }

    /// <summary>Gets the source URI without credentials.</summary>
    public required string Source { get; init; }

    /// <summary>Gets where the stream is defined: <c>config</c> (the configuration) or <c>api</c> (made or changed through the API, kept in the state file).</summary>
    public required string Origin { get; init; }

    /// <summary>
    /// Gets every setting of the stream (<c>Relay:Streams:{name}:…</c>, camelCase), defaults included, as text;
    /// the source without credentials.
    /// </summary>
    public required IReadOnlyDictionary<string, string> Settings { get; init; }

    /// <summary>Gets the nodes whose relays pull the stream (its <c>Node</c> setting); empty when every node does.</summary>
    public IReadOnlyList<string> Nodes { get; init; } = [];

    /// <summary>Gets a value indicating whether the camera is pulled only while someone reads.</summary>
    public required bool OnDemand { get; init; }

    /// <summary>Gets a value indicating whether media is flowing from the source now.</summary>
    public required bool Online { get; init; }

    /// <summary>Gets a value indicating whether the stream can be described (its tracks are known).</summary>
    public required bool Ready { get; init; }

    /// <summary>Gets the number of source connections (epochs) so far.</summary>
    public required int Epochs { get; init; }

    /// <summary>Gets how many times the source was reconnected.</summary>
    public required long Reconnects { get; init; }

    /// <summary>Gets the last failure, when there was one.</summary>
    public StreamError? LastError { get; init; }

    /// <summary>Gets the seconds since the last frame arrived, when one did.</summary>
    public double? LastFrameAgeSeconds { get; init; }

    /// <summary>Gets the bytes received from the source.</summary>
    public required long InboundBytes { get; init; }

    /// <summary>Gets the frames received from the source.</summary>
    public required long InboundFrames { get; init; }

    /// <summary>Gets the tracks.</summary>
    public required IReadOnlyList<TrackStatus> Tracks { get; init; }

    /// <summary>Gets the connected readers.</summary>
    public required IReadOnlyList<ReaderStatus> Readers { get; init; }

    /// <summary>Gets the push targets (<c>Relay:Streams:{name}:Push</c>) and how each is doing.</summary>
    public IReadOnlyList<PushStatus> Push { get; init; } = [];
}

/// <summary>A source failure.</summary>
/// <param name="Kind">What kind of failure.</param>
/// <param name="Message">What happened, redacted.</param>
/// <param name="At">When.</param>
public sealed record StreamError(RelayError Kind, string Message, DateTimeOffset At);

/// <summary>One track of a stream.</summary>
/// <param name="Index">The track's index (its SDP order).</param>
/// <param name="Kind">Video, audio or application.</param>
/// <param name="Codec">The codec, or the camera's encoding name for a relayed-as-is track.</param>
/// <param name="ClockRate">The RTP clock rate.</param>
/// <param name="Width">Picture width, when known.</param>
/// <param name="Height">Picture height, when known.</param>
/// <param name="FrameRate">Frames per second, when known.</param>
/// <param name="Channels">Audio channels, when known.</param>
/// <param name="BitrateBitsPerSecond">Inbound bitrate over the last seconds, when measured.</param>
public sealed record TrackStatus(int Index, MediaKind Kind, string Codec, int ClockRate, int? Width, int? Height, double? FrameRate, int? Channels, double? BitrateBitsPerSecond);

/// <summary>One connected reader.</summary>
/// <param name="Protocol">How it reads, for example <c>rtsp/tcp</c> or <c>rtsp/udp</c>.</param>
/// <param name="RemoteAddress">The reader's IP address.</param>
/// <param name="Since">When it started.</param>
/// <param name="BytesSent">Bytes sent to it.</param>
/// <param name="SkippedFrames">Frames skipped because it fell behind.</param>
/// <param name="Session">Its RTSP session id, when it has one.</param>
public sealed record ReaderStatus(string Protocol, string RemoteAddress, DateTimeOffset Since, long BytesSent, long SkippedFrames, string? Session);
