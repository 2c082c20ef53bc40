using Microsoft.Extensions.Logging;
using Relay.Configuration;
using Relay.Server.Sources;
using Relay.Server.Streams;

namespace Relay.Server.Hosting;

/// <summary>
/// A configured stream while the relay runs: its <see cref="StreamHub"/>, and the <see cref="SourceSupervisor"/>
/// that pulls its camera. An always-on stream pulls from start to stop; an on-demand stream pulls while someone
/// holds a lease on it (a reader, or a DESCRIBE waiting for media) and stops <c>IdleTimeout</c> after the last
/// lease is released. A configuration change restarts the source only when a source setting changed.
/// </summary>
internal sealed partial class PulledStream : IAsyncDisposable
{
    private readonly ISourceFactory _sources;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _transition = new(1, 1); // orders source starts and stops
    private readonly Lock _gate = new();
    private SourceSupervisor? _supervisor; // guarded by _gate
    private ITimer? _idleTimer; // guarded by _gate
    private SourceStatus? _lastStatus; // guarded by _gate: the status of the last supervisor, kept while idle
    private readonly DateTimeOffset _created;
    private bool _disposed;

    private readonly Dictionary<RelayError, long> _reasonsBefore = []; // guarded by _gate: reconnects of earlier supervisors
    private readonly Dictionary<string, Push.StreamPusher> _pushers = new(StringComparer.Ordinal); // guarded by itself; changed only by start, update and dispose, which the registry serializes
    private readonly Metrics.RelayMetrics? _metrics;

    public PulledStream(StreamConfig config, ISourceFactory sources, TimeProvider time, ILogger logger, Metrics.RelayMetrics? metrics = null)
    {
        _metrics = metrics;
        _sources = sources;
        _time = time;
        _logger = logger;
        _created = time.GetUtcNow();
        Hub = new StreamHub(config, time, logger);
        Source = SourceUri.Redact(config.Source);
        Hub.LeasesChanged += OnLeasesChanged;
    }

    public StreamHub Hub { get; }

    public string Name => Hub.Name;

    public StreamConfig Config => Hub.Config;

    /// <summary>Gets the source URI with credentials removed.</summary>
    public string Source { get; private set; }

    /// <summary>Gets the source's status; <see cref="StreamState.Idle"/> while an on-demand stream is not pulling.</summary>
    public SourceStatus Status
    {
        get
        {
            lock (_gate)
            {
                var before = _reasonsBefore.Values.Sum();
                if (_supervisor is { } supervisor)
                {
                    var current = supervisor.Status;
                    return current with { Reconnects = current.Reconnects + before };
                }

                var last = _lastStatus ?? new SourceStatus(StreamState.Idle, _created, RelayError.None, null, null, 0, null);
                return last with { State = StreamState.Idle, Reconnects = before, NextAttemptIn = null };
            }
        }
    }

    /// <summary>Gets the reconnections so far (every supervisor this stream had), by reason.</summary>
    public IReadOnlyDictionary<RelayError, long> ReconnectsByReason
    {
        get
        {
            lock (_gate)
            {
                var total = new Dictionary<RelayError, long>(_reasonsBefore);
                foreach (var (reason, count) in _supervisor?.ReconnectsByReason ?? new Dictionary<RelayError, long>())
                {
                    total[reason] = total.GetValueOrDefault(reason) + count;
                }

                return total;
            }
        }
    }

    /// <summary>Gets a value indicating whether the source is being pulled.</summary>
    public bool IsPulling
    {
        get
        {
            lock (_gate)
            {
                return _supervisor is not null;
            }
        }
    }

    /// <summary>Gets the push targets at work (enabled ones).</summary>
    public IReadOnlyList<Push.StreamPusher> Pushers
    {
        get
        {
            lock (_pushers)
            {
                return _pushers.Values.ToArray();
            }
        }
    }

    /// <summary>Starts pulling unless the stream is on demand (or has a push target), and starts the pushes.</summary>
    public async Task StartAsync()
    {
        await ApplyPushAsync(Config);
        if (!Config.OnDemand)
        {
            await EnsurePullingAsync();
        }
    }

    /// <summary>Starts, stops or restarts push targets to match <paramref name="config"/> (a changed URL restarts its push).</summary>
    private async Task ApplyPushAsync(StreamConfig config)
    {
        var wanted = config.Push.Where(t => t.Enabled).ToDictionary(t => t.Name, StringComparer.Ordinal);
        List<Push.StreamPusher> stopping;
        lock (_pushers)
        {
            stopping = _pushers.Values.Where(p => !wanted.TryGetValue(p.Target.Name, out var t) || t != p.Target).ToList();
            foreach (var pusher in stopping)
            {
                _pushers.Remove(pusher.Target.Name);
            }
        }

        await Task.WhenAll(stopping.Select(p => p.DisposeAsync().AsTask()));
        lock (_pushers)
        {
            foreach (var target in wanted.Values.Where(t => !_pushers.ContainsKey(t.Name)))
            {
                _pushers[target.Name] = new Push.StreamPusher(Hub, target, _time, _logger);
            }
        }
    }

    /// <summary>Applies a changed configuration for this stream.</summary>
    public async Task UpdateAsync(StreamConfig next)
    {
        var previous = Config;
        Hub.UpdateConfig(next);
        await ApplyPushAsync(next);
        Source = SourceUri.Redact(next.Source);
        var restart = SourceChanged(previous, next);
        if (restart && IsPulling)
        {
            Log.Restarting(_logger, Name);
            await StopPullingAsync();
        }

        if (!next.OnDemand || Hub.Leases > 0)
        {
            await EnsurePullingAsync();
        }
        else
        {
            ArmIdleTimer(); // it stops the source only if still nobody holds a lease when it fires
        }
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        lock (_gate)
        {
            _disposed = true;
            _idleTimer?.Dispose();
            _idleTimer = null;
        }

        Hub.LeasesChanged -= OnLeasesChanged;
        await ApplyPushAsync(Config with { Push = [] });
        await StopPullingAsync();
        Hub.Dispose();
    }

    /// <summary>Compares two configurations, credentials included (Uri equality ignores user info).</summary>
    internal static bool SameConfig(StreamConfig a, StreamConfig b) =>
        a with { Push = [] } == b with { Push = [] } && a.Source.OriginalString == b.Source.OriginalString && a.Push.SequenceEqual(b.Push);

    /// <summary>Tells whether a change needs a new source connection (anything the ingest pipeline is built from).</summary>
    internal static bool SourceChanged(StreamConfig a, StreamConfig b) =>
        a.Source.OriginalString != b.Source.OriginalString || a.Transport != b.Transport || a.Latency != b.Latency || a.ConnectTimeout != b.ConnectTimeout
        || a.StallTimeout != b.StallTimeout || a.RetryDelay != b.RetryDelay || a.MaxRetryDelay != b.MaxRetryDelay;

    private void OnLeasesChanged(int leases)
    {
        if (!Config.OnDemand)
        {
            return;
        }

        if (leases > 0)
        {
            lock (_gate)
            {
                _idleTimer?.Dispose();
                _idleTimer = null;
            }

            _ = RunLogged(EnsurePullingAsync());
        }
        else
        {
            ArmIdleTimer();
        }
    }

    private void ArmIdleTimer()
    {
        lock (_gate)
        {
            if (_disposed || _supervisor is null)
            {
                return;
            }

            _idleTimer?.Dispose();
            _idleTimer = _time.CreateTimer(_ => OnIdle(), null, Config.IdleTimeout, Timeout.InfiniteTimeSpan);
        }
    }

    private void OnIdle() => _ = RunLogged(StopIfIdleAsync());

    /// <summary>
    /// Stops pulling if still nobody holds a lease, decided in order with every start and stop: a lease taken after the
    /// idle timer fired either is seen here (and the source keeps running) or starts the source again after this stop.
    /// </summary>
    private async Task StopIfIdleAsync()
    {
        await _transition.WaitAsync();
        try
        {
            if (Hub.Leases > 0 || !Config.OnDemand)
            {
                return;
            }

            Log.Idle(_logger, Name, Config.IdleTimeout.TotalSeconds);
            await StopPullingLockedAsync();
        }
        finally
        {
            _transition.Release();
        }
    }

    private async Task EnsurePullingAsync()
    {
        await _transition.WaitAsync();
        try
        {
            lock (_gate)
            {
                if (_supervisor is not null || _disposed)
                {
                    return;
                }

                var supervisor = new SourceSupervisor(Hub, _sources.Create(Config, _logger), _time, _logger);
                if (_metrics is { } metrics)
                {
                    var name = Name;
                    supervisor.Connected += duration => metrics.ConnectDuration.WithLabels(name).Observe(duration.TotalSeconds);
                }

                _supervisor = supervisor;
                supervisor.Start();
            }

            if (Config.OnDemand && Hub.Leases == 0)
            {
                ArmIdleTimer(); // the reader that asked for this start has left already
            }
        }
        finally
        {
            _transition.Release();
        }
    }

    private async Task StopPullingAsync()
    {
        await _transition.WaitAsync();
        try
        {
            await StopPullingLockedAsync();
        }
        finally
        {
            _transition.Release();
        }
    }

    /// <summary>Stops the supervisor; the caller holds <see cref="_transition"/>.</summary>
    private async Task StopPullingLockedAsync()
    {
        SourceSupervisor? supervisor;
        lock (_gate)
        {
            supervisor = _supervisor;
            _supervisor = null;
            _idleTimer?.Dispose();
            _idleTimer = null;
        }

        if (supervisor is not null)
        {
            await supervisor.DisposeAsync();
            lock (_gate)
            {
                _lastStatus = supervisor.Status with { Since = _time.GetUtcNow() };
                foreach (var (reason, count) in supervisor.ReconnectsByReason)
                {
                    _reasonsBefore[reason] = _reasonsBefore.GetValueOrDefault(reason) + count;
                }
            }
        }
    }

    private async Task RunLogged(Task task)
    {
        try
        {
            await task;
        }
        catch (Exception e)
        {
            Log.TransitionFailed(_logger, Name, e);
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventIds.StreamRestarted, LogLevel.Information, "Stream {Stream}: source settings changed; reconnecting.")]
        public static partial void Restarting(ILogger logger, string stream);

        [LoggerMessage(EventIds.StreamRestarted + 1, LogLevel.Information, "Stream {Stream}: no reader for {Seconds:0.#} s; stopped pulling (on demand).")]
        public static partial void Idle(ILogger logger, string stream, double seconds);

        [LoggerMessage(EventIds.StreamRestarted + 2, LogLevel.Error, "Stream {Stream}: starting or stopping the source failed.")]
        public static partial void TransitionFailed(ILogger logger, string stream, Exception exception);
    }
}
