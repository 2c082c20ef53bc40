using Relay.Api;
using Relay.Configuration;

namespace Relay.Server.Api;

/// <summary>What the status API reads; implemented where streams, sources and servers meet (Hosting).</summary>
internal interface IStreamDirectory
{
    /// <summary>Gets every stream's status, by name.</summary>
    IReadOnlyList<StreamStatus> GetAll();

    /// <summary>Gets one stream's status, or null when there is no such stream.</summary>
    StreamStatus? Get(string name);

    /// <summary>Gets what clients need to know about the relay (version, RTSP port).</summary>
    ServerInfo GetServer();

    /// <summary>Gets a stream's configuration, or null when there is no such stream.</summary>
    StreamConfig? GetConfig(string name);

    /// <summary>Gets the HTTP validator (<c>ETag</c>) of a stream's configuration.</summary>
    string ETag(StreamConfig config);

    /// <summary>
    /// Changes one stream, in order with every other change: <paramref name="plan"/> sees its configuration now (null
    /// when there is none) and says what it becomes. Saved to the state file, then applied.
    /// </summary>
    /// <returns>True when a change was made.</returns>
    /// <exception cref="System.IO.IOException">The state file could not be written; nothing changed.</exception>
    Task<bool> EditAsync(string name, Func<StreamConfig?, StreamEdit> plan);

    /// <summary>Gets every channel's status, by name.</summary>
    IReadOnlyList<ChannelStatus> GetChannels();

    /// <summary>Gets one channel's status, or null when there is no such channel.</summary>
    ChannelStatus? GetChannel(string name);

    /// <summary>Gets a channel's configuration, or null when there is no such channel.</summary>
    ChannelConfig? GetChannelConfig(string name);

    /// <summary>Gets the HTTP validator (<c>ETag</c>) of a channel's configuration.</summary>
    string ETag(ChannelConfig config);

    /// <summary>Changes one channel, like <see cref="EditAsync"/>; a switch reaches its readers before this completes.</summary>
    /// <exception cref="System.IO.IOException">The state file could not be written; nothing changed.</exception>
    Task<bool> EditChannelAsync(string name, Func<ChannelConfig?, ChannelEdit> plan);
}

/// <summary>What an API request makes of a stream.</summary>
internal enum StreamEditKind
{
    /// <summary>Nothing (the request was refused).</summary>
    None,

    /// <summary>The stream is created or replaced by <see cref="StreamEdit.Config"/>.</summary>
    Save,

    /// <summary>The stream is deleted.</summary>
    Delete,
}

/// <summary>What an API request makes of a stream: see <see cref="IStreamDirectory.EditAsync"/>.</summary>
/// <param name="Kind">Save, delete, or nothing.</param>
/// <param name="Config">The stream's new configuration, for <see cref="StreamEditKind.Save"/>.</param>
internal readonly record struct StreamEdit(StreamEditKind Kind, StreamConfig? Config = null)
{
    public static StreamEdit None => new(StreamEditKind.None);

    public static StreamEdit Delete => new(StreamEditKind.Delete);

    public static StreamEdit Save(StreamConfig config) => new(StreamEditKind.Save, config);
}

/// <summary>What an API request makes of a channel: see <see cref="IStreamDirectory.EditChannelAsync"/>.</summary>
/// <param name="Kind">Save, delete, or nothing.</param>
/// <param name="Config">The channel's new configuration, for <see cref="StreamEditKind.Save"/>.</param>
internal readonly record struct ChannelEdit(StreamEditKind Kind, ChannelConfig? Config = null)
{
    public static ChannelEdit None => new(StreamEditKind.None);

    public static ChannelEdit Delete => new(StreamEditKind.Delete);

    public static ChannelEdit Save(ChannelConfig config) => new(StreamEditKind.Save, config);
}
