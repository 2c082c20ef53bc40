namespace Relay.Configuration;

/// <summary>
/// A channel (<c>Relay:Channels:{name}</c>): a named output that shows one of the streams and can be switched to
/// another while its readers stay connected, for example the camera a wall screen shows.
/// </summary>
public sealed record ChannelConfig
{
    /// <summary>Gets the channel's name, which is its path on every output: <c>rtsp://host:8554/{Name}</c>.</summary>
    public required string Name { get; init; }

    /// <summary>Gets the name of the stream the channel shows.</summary>
    public required string Stream { get; init; }
}
