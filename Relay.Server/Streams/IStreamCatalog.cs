using System.Diagnostics.CodeAnalysis;

namespace Relay.Server.Streams;

/// <summary>What the servers (RTSP, HTTP outputs) need of the registry: the hub a path serves.</summary>
internal interface IStreamCatalog
{
    /// <summary>
    /// Finds the hub readers of a path read: a stream's, or a channel's (case-insensitive; surrounding slashes ignored).
    /// </summary>
    bool TryGetHub(string path, [NotNullWhen(true)] out StreamHub? hub);
}
