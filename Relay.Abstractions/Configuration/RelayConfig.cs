namespace Relay.Configuration;

/// <summary>
/// Relay's whole configuration, read from the <c>Relay</c> section (appsettings.json, <c>Relay__…</c>
/// environment variables, <c>--Relay:…=</c> arguments) and validated all at once.
/// </summary>
public sealed record RelayConfig
{
    /// <summary>The configuration section name.</summary>
    public const string SectionName = "Relay";

    /// <summary>Gets the RTSP server settings.</summary>
    public RtspServerConfig Rtsp { get; init; } = new();

    /// <summary>Gets the HLS output settings.</summary>
    public HlsConfig Hls { get; init; } = new();

    /// <summary>Gets the snapshot and MJPEG output settings.</summary>
    public MjpegConfig Mjpeg { get; init; } = new();

    /// <summary>Gets the certificate of RTSPS and HTTPS.</summary>
    public TlsConfig Tls { get; init; } = new();

    /// <summary>Gets who may read and change the relay (users, tokens, and the authentication settings).</summary>
    public AuthConfig Auth { get; init; } = new();

    /// <summary>Gets the management API settings.</summary>
    public ApiConfig Api { get; init; } = new();

    /// <summary>
    /// Gets the file that holds the streams made or changed through the API, so they survive a restart.
    /// <value>The default value is <c>relay-state.json</c> in the working directory.</value>
    /// </summary>
    public string StateFile { get; init; } = DefaultStateFile;

    /// <summary>The state file used when <see cref="StateFile"/> is not set.</summary>
    public const string DefaultStateFile = "relay-state.json";

    /// <summary>
    /// Gets the name of the node this relay runs on (<c>Relay:NodeName</c>, else the <c>NODE_NAME</c> environment
    /// variable a Kubernetes DaemonSet sets from the downward API), lower case. Streams whose <c>Node</c> names other
    /// nodes are not pulled here. Null: no node name; every stream is pulled.
    /// </summary>
    public string? NodeName { get; init; }

    /// <summary>Tells whether this relay pulls a stream: it names no node, this relay has no node name, or it names this one.</summary>
    public bool PullsHere(StreamConfig stream) =>
        NodeName is null || stream.Node is null || stream.Nodes.Contains(NodeName, StringComparer.Ordinal);

    /// <summary>Gets the streams, by name (case-insensitive). The name is the RTSP path: <c>rtsp://host:8554/{name}</c>.</summary>
    public IReadOnlyDictionary<string, StreamConfig> Streams { get; init; } =
        new Dictionary<string, StreamConfig>(StringComparer.OrdinalIgnoreCase);

    /// <summary>Gets the channels, by name (case-insensitive); a channel's name is a path like a stream's, and differs from every stream's.</summary>
    public IReadOnlyDictionary<string, ChannelConfig> Channels { get; init; } =
        new Dictionary<string, ChannelConfig>(StringComparer.OrdinalIgnoreCase);
}
