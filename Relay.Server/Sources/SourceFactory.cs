using Microsoft.Extensions.Logging;
using Relay.Configuration;

namespace Relay.Server.Sources;

/// <summary>Creates the source a stream's configuration names.</summary>
internal interface ISourceFactory
{
    /// <summary>Creates the source for <paramref name="config"/>.</summary>
    ISource Create(StreamConfig config, ILogger logger);
}

/// <summary>The product's source factory: <c>rtsp://</c>, <c>rtsps://</c> and <c>test:</c>.</summary>
internal sealed class SourceFactory(TimeProvider time) : ISourceFactory
{
    /// <summary>The URI schemes Relay can pull from.</summary>
    public static readonly string[] Schemes = ["rtsp", "rtsps", "test"];

    /// <inheritdoc />
    public ISource Create(StreamConfig config, ILogger logger) => config.Source.Scheme switch
    {
        "rtsp" or "rtsps" => new RtspSource(config, time, logger),
        "test" => new TestPatternSource(config, time, logger),
        _ => throw new ArgumentException($"Unsupported source scheme '{config.Source.Scheme}'.", nameof(config)),
    };
}
