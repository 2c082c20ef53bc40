namespace Relay.Server.Sources;

/// <summary>Where a stream's media comes from: a camera or a test pattern.</summary>
internal interface ISource
{
    /// <summary>Gets a display form of the source with credentials removed.</summary>
    string DisplayName { get; }

    /// <summary>Starts one connection (an epoch) that delivers media into <paramref name="sink"/>.</summary>
    /// <param name="sink">Receives tracks and access units, from one thread at a time.</param>
    /// <returns>The connection; dispose it to stop.</returns>
    ISourceConnection Open(Relay.Media.IMediaSink sink);
}

/// <summary>One running connection to a source.</summary>
internal interface ISourceConnection : IAsyncDisposable
{
    /// <summary>
    /// Gets a task that completes when the first access unit arrived, or faults with a
    /// <see cref="SourceException"/> when the attempt failed or timed out first.
    /// </summary>
    Task Connected { get; }

    /// <summary>Gets a task that completes when the connection ended, saying why. It never faults.</summary>
    Task<SourceExit> Completion { get; }
}
