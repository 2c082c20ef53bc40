using System.Collections.Concurrent;
using System.Diagnostics.CodeAnalysis;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Relay.Configuration;
using Relay.Server.GStreamer;
using Relay.Server.Sources;
using Relay.Server.Streams;

namespace Relay.Server.Hosting;

/// <summary>
/// Turns the configured streams into running ones: for each, a <see cref="Stream"/> hub and a
/// <see cref="SourceSupervisor"/> that keeps its source connected. Looked up by name by the servers.
/// </summary>
internal sealed partial class StreamManager : IHostedService, IStreamCatalog, IAsyncDisposable
{
    private readonly ConcurrentDictionary<string, StreamRuntime> _streams = new(StringComparer.OrdinalIgnoreCase);
    private readonly RelayConfig _config;
    private readonly ISourceFactory _sources;
    private readonly TimeProvider _time;
    private readonly ILoggerFactory _loggers;
    private readonly ILogger _logger;

    public StreamManager(RelayConfig config, ISourceFactory sources, TimeProvider time, ILoggerFactory loggers)
    {
        _config = config;
        _sources = sources;
        _time = time;
        _loggers = loggers;
        _logger = loggers.CreateLogger<StreamManager>();
    }

    /// <summary>Gets the running streams.</summary>
    public IReadOnlyCollection<StreamRuntime> Streams => _streams.Values.ToArray();

    /// <summary>Finds a stream by name (case-insensitive; leading and trailing slashes ignored).</summary>
    public bool TryGet(string name, out StreamRuntime runtime) => _streams.TryGetValue(name.Trim('/'), out runtime!);

    /// <inheritdoc />
    public bool TryGetStream(string name, [NotNullWhen(true)] out Stream? stream)
    {
        stream = TryGet(name, out var runtime) ? runtime.Stream : null;
        return stream is not null;
    }

    /// <inheritdoc />
    public Task StartAsync(CancellationToken cancellationToken)
    {
        GstRuntime.EnsureInitialized();
        Log.GStreamerReady(_logger, GstRuntime.Version);
        foreach (var config in _config.Streams.Values)
        {
            Add(config);
        }

        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        var all = _streams.Values.ToArray();
        _streams.Clear();
        await Task.WhenAll(all.Select(r => r.DisposeAsync().AsTask()));
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync() => await StopAsync(CancellationToken.None);

    private void Add(StreamConfig config)
    {
        var logger = _loggers.CreateLogger($"Relay.Stream.{config.Name}");
        var stream = new Stream(config, _time, logger);
        var source = _sources.Create(config, logger);
        var supervisor = new SourceSupervisor(stream, source, _time, logger);
        var runtime = new StreamRuntime(stream, supervisor, source.DisplayName);
        _streams[config.Name] = runtime;
        supervisor.Start();
        Log.StreamStarted(_logger, config.Name, source.DisplayName);
    }

    private static partial class Log
    {
        [LoggerMessage(EventIds.GStreamerReady, LogLevel.Information, "Using {Version}.")]
        public static partial void GStreamerReady(ILogger logger, string version);

        [LoggerMessage(EventIds.StreamStarted, LogLevel.Information, "Stream {Stream} added, source {Source}.")]
        public static partial void StreamStarted(ILogger logger, string stream, string source);
    }
}

/// <summary>A running stream: its hub, its supervisor and its redacted source.</summary>
internal sealed class StreamRuntime(Stream stream, SourceSupervisor supervisor, string source) : IAsyncDisposable
{
    public Stream Stream { get; } = stream;

    public SourceSupervisor Supervisor { get; } = supervisor;

    /// <summary>Gets the source URI with credentials removed.</summary>
    public string Source { get; } = source;

    public string Name => Stream.Name;

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await Supervisor.DisposeAsync();
        Stream.Dispose();
    }
}
