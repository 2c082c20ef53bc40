namespace Relay.Configuration;

/// <summary>One stream (<c>Relay:Streams:{name}</c>): where its media comes from and how it is served.</summary>
public sealed record StreamConfig
{
    /// <summary>Gets the stream's name, which is its path: <c>rtsp://host:8554/{Name}</c>.</summary>
    public required string Name { get; init; }

    /// <summary>
    /// Gets the source URI: <c>rtsp://[user:pass@]host[:port]/path</c>, <c>rtsps://…</c>, or
    /// <c>test:pattern=smpte&amp;size=1280x720&amp;fps=25&amp;bitrate=2000&amp;gop=25</c>.
    /// Credentials in it never appear in logs, API responses, metrics or pages.
    /// </summary>
    public required Uri Source { get; init; }

    /// <summary>Gets how RTP is pulled from an RTSP camera. <value>The default value is <see cref="SourceTransport.Tcp"/>.</value></summary>
    public SourceTransport Transport { get; init; } = SourceTransport.Tcp;

    /// <summary>Gets where a new reader starts. <value>The default value is <see cref="StartAt.Keyframe"/>.</value></summary>
    public StartAt StartAt { get; init; } = StartAt.Keyframe;

    /// <summary>Gets a value indicating whether the camera is pulled only while someone reads. <value>The default value is false.</value></summary>
    public bool OnDemand { get; init; }

    /// <summary>Gets how long an on-demand stream keeps pulling after its last reader left. <value>The default value is 10 s.</value></summary>
    public TimeSpan IdleTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Gets how long one connection attempt may take until media flows. <value>The default value is 10 s.</value></summary>
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Gets how long an online source may send nothing before it is reconnected. <value>The default value is 5 s.</value></summary>
    public TimeSpan StallTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Gets the jitter-buffer latency for RTSP cameras (the reordering window). Null means the default for the
    /// transport. <value>The default value is 0 for TCP (packets cannot arrive out of order) and 200 ms for UDP.</value>
    /// </summary>
    public TimeSpan? Latency { get; init; }

    /// <summary>Gets the jitter-buffer latency in effect (<see cref="Latency"/> or the transport's default).</summary>
    public TimeSpan EffectiveLatency => Latency ?? (Transport == SourceTransport.Udp ? TimeSpan.FromMilliseconds(200) : TimeSpan.Zero);

    /// <summary>Gets the first delay between reconnect attempts. <value>The default value is 0.5 s.</value></summary>
    public TimeSpan RetryDelay { get; init; } = TimeSpan.FromMilliseconds(500);

    /// <summary>Gets the longest delay between reconnect attempts. <value>The default value is 30 s.</value></summary>
    public TimeSpan MaxRetryDelay { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Gets the largest GOP cache in bytes; a longer GOP is not cached. <value>The default value is 16 MiB.</value></summary>
    public int GopCacheMaxBytes { get; init; } = 16 * 1024 * 1024;

    /// <summary>Gets the longest GOP cache; a longer GOP is not cached. <value>The default value is 10 s.</value></summary>
    public TimeSpan GopCacheMaxDuration { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Gets the most bytes queued for one reader before it skips to the next keyframe. <value>The default value is 8 MiB.</value></summary>
    public int ReaderQueueMaxBytes { get; init; } = 8 * 1024 * 1024;

    /// <summary>Gets the most frames queued for one reader before it skips to the next keyframe. <value>The default value is 1024.</value></summary>
    public int ReaderQueueMaxFrames { get; init; } = 1024;

    /// <summary>Gets how long a reader may stay stuck with a full queue before it is disconnected. <value>The default value is 10 s.</value></summary>
    public TimeSpan ReaderStallTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Gets the nodes that pull this stream (lower case, sorted, comma-separated, as <c>Relay:Streams:{name}:Node</c>
    /// is normalized), matched against the relay's <see cref="RelayConfig.NodeName"/>. Null: every node pulls it.
    /// <value>The default value is null.</value>
    /// </summary>
    public string? Node { get; init; }

    /// <summary>Gets <see cref="Node"/> as a list (empty: every node).</summary>
    public IReadOnlyList<string> Nodes => Node?.Split(',') ?? [];

    /// <summary>
    /// Gets where the stream is pushed (<c>Relay:Streams:{name}:Push:{target}</c>): live platforms over RTMP(S), media
    /// servers over RTSP(S) RECORD, by target name. A stream with an enabled push target is pulled even when
    /// <see cref="OnDemand"/> is set.
    /// </summary>
    public IReadOnlyList<PushTarget> Push { get; init; } = [];
}

/// <summary>One push destination of a stream.</summary>
/// <param name="Name">The target's name (letters, digits, '-', '_'): a label in the status and metrics.</param>
/// <param name="Url">Where to push: <c>rtmp://</c>, <c>rtmps://</c>, <c>rtsp://</c> or <c>rtsps://</c>; its stream key and credentials are secrets.</param>
/// <param name="Enabled">Whether the target is pushed to.</param>
public sealed record PushTarget(string Name, string Url, bool Enabled = true);
