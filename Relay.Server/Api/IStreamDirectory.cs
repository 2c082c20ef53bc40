using Relay.Api;

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
}
