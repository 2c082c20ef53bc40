using System.Diagnostics.CodeAnalysis;

namespace Relay.Server.Streams;

/// <summary>Finds streams by name for the servers (RTSP, HTTP outputs).</summary>
internal interface IStreamCatalog
{
    /// <summary>Finds a stream by name (case-insensitive; surrounding slashes ignored).</summary>
    bool TryGetStream(string name, [NotNullWhen(true)] out Stream? stream);
}
