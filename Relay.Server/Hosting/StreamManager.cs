using System.Collections.Concurrent;
using System.Diagnostics.CodeAnalysis;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Primitives;
using Relay.Configuration;
using Relay.Server.Configuration;
using Relay.Server.GStreamer;
using Relay.Server.Sources;
using Relay.Server.Streams;

namespace Relay.Server.Hosting;

/// <summary>
/// Reconciles the configured streams with the running ones: at start, and whenever the configuration reloads
/// (a watched file changed). Added streams start, removed ones stop (their readers are closed), changed ones are
/// updated in place; streams that did not change are not touched. An invalid reload is rejected with every error
/// logged, and the last good configuration stays.
/// </summary>
internal sealed partial class StreamManager : IHostedService, IStreamCatalog, IAsyncDisposable
{
    private readonly ConcurrentDictionary<string, StreamRuntime> _streams = new(StringComparer.OrdinalIgnoreCase);
    private readonly SemaphoreSlim _reconcile = new(1, 1);
    private readonly RelayConfig _initial;
    private readonly IConfiguration _configuration;
    private readonly ISourceFactory _sources;
    private readonly TimeProvider _time;
    private readonly ILoggerFactory _loggers;
    private readonly ILogger _logger;
    private RelayConfig _current;
    private IDisposable? _reloadRegistration;
    private int _stopped;

    private readonly Metrics.RelayMetrics? _metrics;

    public StreamManager(RelayConfig config, IConfiguration configuration, ISourceFactory sources, TimeProvider time, ILoggerFactory loggers, Metrics.RelayMetrics? metrics = null)
    {
        _metrics = metrics;
        _initial = config;
        _current = config;
        _configuration = configuration;
        _sources = sources;
        _time = time;
        _loggers = loggers;
        _logger = loggers.CreateLogger<StreamManager>();
    }

    /// <summary>Gets the running streams.</summary>
    public IReadOnlyCollection<StreamRuntime> Streams => _streams.Values.OrderBy(s => s.Name, StringComparer.OrdinalIgnoreCase).ToArray();

    /// <summary>Raised after a reload was applied (or rejected), for tests and status.</summary>
    public event Action<bool>? Reloaded;

    /// <summary>Finds a stream by name (case-insensitive; leading and trailing slashes ignored).</summary>
    public bool TryGet(string name, out StreamRuntime runtime) => _streams.TryGetValue(name.Trim('/'), out runtime!);

    /// <inheritdoc />
    public bool TryGetStream(string name, [NotNullWhen(true)] out Stream? stream)
    {
        stream = TryGet(name, out var runtime) ? runtime.Stream : null;
        return stream is not null;
    }

    /// <inheritdoc />
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        GstRuntime.EnsureInitialized();
        Log.GStreamerReady(_logger, GstRuntime.Version);
        await ApplyAsync(_initial);
        _reloadRegistration = ChangeToken.OnChange(_configuration.GetReloadToken, () => _ = ReloadAsync());
    }

    /// <inheritdoc />
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (Interlocked.Exchange(ref _stopped, 1) != 0)
        {
            return;
        }

        _reloadRegistration?.Dispose();
        await _reconcile.WaitAsync(CancellationToken.None);
        try
        {
            var all = _streams.Values.ToArray();
            _streams.Clear();
            await Task.WhenAll(all.Select(r => r.DisposeAsync().AsTask()));
        }
        finally
        {
            _reconcile.Release();
        }
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync() => await StopAsync(CancellationToken.None);

    /// <summary>Reads the configuration again and applies it if it is valid.</summary>
    internal async Task ReloadAsync()
    {
        if (Volatile.Read(ref _stopped) != 0)
        {
            return;
        }

        var (next, errors) = RelayConfigLoader.Load(_configuration);
        if (next is null)
        {
            Log.ReloadRejected(_logger, errors.Count);
            foreach (var error in errors)
            {
                Log.ConfigurationError(_logger, error);
            }

            Reloaded?.Invoke(false);
            return;
        }

        if (next.Rtsp != _current.Rtsp || next.Hls != _current.Hls || next.Mjpeg != _current.Mjpeg)
        {
            Log.ServerChangeNeedsRestart(_logger);
        }

        try
        {
            await ApplyAsync(next);
            Reloaded?.Invoke(true);
        }
        catch (Exception e)
        {
            Log.ReloadFailed(_logger, e);
            Reloaded?.Invoke(false);
        }
    }

    private async Task ApplyAsync(RelayConfig next)
    {
        await _reconcile.WaitAsync();
        try
        {
            if (Volatile.Read(ref _stopped) != 0)
            {
                return;
            }

            var removed = _streams.Keys.Where(name => !next.Streams.ContainsKey(name)).ToList();
            var added = next.Streams.Values.Where(s => !_streams.ContainsKey(s.Name)).ToList();
            var changed = next.Streams.Values.Where(s => _streams.TryGetValue(s.Name, out var r) && !StreamRuntime.SameConfig(r.Config, s)).ToList();

            foreach (var name in removed)
            {
                if (_streams.TryRemove(name, out var runtime))
                {
                    await runtime.DisposeAsync();
                    _metrics?.ForgetStream(runtime.Name);
                    Log.StreamRemoved(_logger, name);
                }
            }

            foreach (var config in changed)
            {
                await _streams[config.Name].UpdateAsync(config);
                Log.StreamChanged(_logger, config.Name);
            }

            foreach (var config in added)
            {
                var runtime = new StreamRuntime(config, _sources, _time, _loggers.CreateLogger($"Relay.Stream.{config.Name}"), _metrics);
                _streams[config.Name] = runtime;
                await runtime.StartAsync();
                Log.StreamStarted(_logger, config.Name, runtime.Source, config.OnDemand ? "on demand" : "always");
            }

            if (removed.Count + added.Count + changed.Count > 0)
            {
                Log.Reconciled(_logger, added.Count, removed.Count, changed.Count);
            }

            _current = next;
        }
        finally
        {
            _reconcile.Release();
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventIds.GStreamerReady, LogLevel.Information, "Using {Version}.")]
        public static partial void GStreamerReady(ILogger logger, string version);

        [LoggerMessage(EventIds.StreamStarted, LogLevel.Information, "Stream {Stream} added, source {Source} ({Mode}).")]
        public static partial void StreamStarted(ILogger logger, string stream, string source, string mode);

        [LoggerMessage(EventIds.StreamRemoved, LogLevel.Information, "Stream {Stream} removed.")]
        public static partial void StreamRemoved(ILogger logger, string stream);

        [LoggerMessage(EventIds.StreamRemoved + 1, LogLevel.Information, "Stream {Stream} changed.")]
        public static partial void StreamChanged(ILogger logger, string stream);

        [LoggerMessage(EventIds.ConfigurationReloaded, LogLevel.Information, "Configuration applied: {Added} added, {Removed} removed, {Changed} changed.")]
        public static partial void Reconciled(ILogger logger, int added, int removed, int changed);

        [LoggerMessage(EventIds.ConfigurationInvalid, LogLevel.Error, "Configuration reload rejected ({Count} problem(s)); the last good configuration stays.")]
        public static partial void ReloadRejected(ILogger logger, int count);

        [LoggerMessage(EventIds.ConfigurationInvalid + 1, LogLevel.Error, "Configuration problem: {Problem}")]
        public static partial void ConfigurationError(ILogger logger, string problem);

        [LoggerMessage(EventIds.ConfigurationInvalid + 2, LogLevel.Warning, "Relay:Rtsp, Relay:Hls or Relay:Mjpeg settings changed; they take effect after a restart.")]
        public static partial void ServerChangeNeedsRestart(ILogger logger);

        [LoggerMessage(EventIds.ConfigurationInvalid + 3, LogLevel.Error, "Applying the reloaded configuration failed.")]
        public static partial void ReloadFailed(ILogger logger, Exception exception);
    }
}
