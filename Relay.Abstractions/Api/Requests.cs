using System.ComponentModel;

namespace Relay.Api;

/// <summary>
/// A stream's settings as the API takes them (<c>POST /api/v1/streams</c>, <c>PUT</c>, <c>PATCH</c>): the settings of
/// <c>Relay:Streams:{name}</c>, in any case. Values may also be given as strings (<c>"true"</c>, <c>"5"</c>).
/// </summary>
public sealed record StreamRequest
{
    /// <summary>The stream's name, its path (POST only; letters, digits, '-', '_', '.', '~' and '/').</summary>
    [Description("The stream's name, its path (POST only; letters, digits, '-', '_', '.', '~' and '/').")]
    public string? Name { get; init; }

    /// <summary>rtsp://[user:pass@]host[:port]/path, rtsps://…, or test:pattern=smpte&amp;size=1280x720&amp;fps=25. Required except in PATCH.</summary>
    [Description("rtsp://[user:pass@]host[:port]/path, rtsps://…, or test:pattern=smpte&size=1280x720&fps=25. Required except in PATCH.")]
    public string? Source { get; init; }

    /// <summary>How RTP is pulled from the camera: tcp or udp.</summary>
    [Description("How RTP is pulled from the camera: tcp or udp.")]
    public string? Transport { get; init; }

    /// <summary>Where a new reader starts: keyframe (the cached GOP) or live (the next keyframe).</summary>
    [Description("Where a new reader starts: keyframe (the cached GOP) or live (the next keyframe).")]
    public string? StartAt { get; init; }

    /// <summary>Pull the camera only while someone reads.</summary>
    [Description("Pull the camera only while someone reads.")]
    public bool? OnDemand { get; init; }

    /// <summary>How long an on-demand stream keeps pulling after its last reader left (500ms, 5s, 2m, 00:00:05).</summary>
    [Description("How long an on-demand stream keeps pulling after its last reader left (500ms, 5s, 2m, 00:00:05).")]
    public string? IdleTimeout { get; init; }

    /// <summary>How long one connection attempt may take until media flows.</summary>
    [Description("How long one connection attempt may take until media flows.")]
    public string? ConnectTimeout { get; init; }

    /// <summary>No media for this long while online: reconnect.</summary>
    [Description("No media for this long while online: reconnect.")]
    public string? StallTimeout { get; init; }

    /// <summary>The jitter buffer (reordering window) for the camera.</summary>
    [Description("The jitter buffer (reordering window) for the camera.")]
    public string? Latency { get; init; }

    /// <summary>The first delay between reconnect attempts.</summary>
    [Description("The first delay between reconnect attempts.")]
    public string? RetryDelay { get; init; }

    /// <summary>The longest delay between reconnect attempts.</summary>
    [Description("The longest delay between reconnect attempts.")]
    public string? MaxRetryDelay { get; init; }

    /// <summary>The largest GOP cache in bytes.</summary>
    [Description("The largest GOP cache in bytes.")]
    public int? GopCacheMaxBytes { get; init; }

    /// <summary>The longest GOP cache.</summary>
    [Description("The longest GOP cache.")]
    public string? GopCacheMaxDuration { get; init; }

    /// <summary>The most bytes queued for one reader before it skips to the next keyframe.</summary>
    [Description("The most bytes queued for one reader before it skips to the next keyframe.")]
    public int? ReaderQueueMaxBytes { get; init; }

    /// <summary>The most frames queued for one reader before it skips to the next keyframe.</summary>
    [Description("The most frames queued for one reader before it skips to the next keyframe.")]
    public int? ReaderQueueMaxFrames { get; init; }

    /// <summary>How long a reader may stay stuck with a full queue before it is disconnected.</summary>
    [Description("How long a reader may stay stuck with a full queue before it is disconnected.")]
    public string? ReaderStallTimeout { get; init; }

    /// <summary>The node(s) whose relay pulls the stream, comma-separated (an array of names is accepted too); null: every node.</summary>
    [Description("The node(s) whose relay pulls the stream, comma-separated (an array of names is accepted too); null: every node.")]
    public string? Node { get; init; }
}

/// <summary>A channel as the API takes it (<c>POST /api/v1/channels</c>, <c>PUT</c>, <c>PATCH</c>).</summary>
public sealed record ChannelRequest
{
    /// <summary>The channel's name, its path (POST only); it differs from every stream's.</summary>
    [Description("The channel's name, its path (POST only); it differs from every stream's.")]
    public string? Name { get; init; }

    /// <summary>The name of the stream the channel shows.</summary>
    [Description("The name of the stream the channel shows.")]
    public required string Stream { get; init; }
}
