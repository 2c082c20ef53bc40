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
/// The relay's paths by name, the one owner of them: each configured stream (<see cref="PulledStream"/>: its hub and
/// the supervisor that pulls its source) and each <see cref="Channel"/>. It reconciles the wanted streams with the running ones: at start, whenever the configuration reloads (a watched file
/// changed), and on every change made through the API. Added streams start, removed ones stop (their readers are
/// closed), changed ones are updated in place; streams that did not change are not touched. An invalid reload is
/// rejected with every error logged, and the last good configuration stays.
/// </summary>
/// <remarks>
/// The wanted streams are the configuration's, overlaid by the API's changes kept in the state file: a stream made or
/// changed through the API is the API's from then on (a reload of the file does not touch it), and a file stream
/// deleted through the API stays deleted until the API makes it again.
/// </remarks>
internal sealed partial class StreamRegistry : IHostedService, IStreamCatalog, IAsyncDisposable
{
    private readonly ConcurrentDictionary<string, PulledStream> _streams = new(StringComparer.OrdinalIgnoreCase);
    private readonly ConcurrentDictionary<string, Channel> _channels = new(StringComparer.OrdinalIgnoreCase);
    private volatile Dictionary<string, StreamConfig> _elsewhere = new(StringComparer.OrdinalIgnoreCase); // pulled by other nodes; replaced, never changed
    private readonly SemaphoreSlim _reconcile = new(1, 1);
    private readonly RelayConfig _initial;
    private readonly IConfiguration _configuration;
    private readonly ISourceFactory _sources;
    private readonly TimeProvider _time;
    private readonly ILoggerFactory _loggers;
    private readonly ILogger _logger;
    private RelayConfig _current; // the configuration as read from its sources (files, environment, arguments)
    private StoredStreams _stored = StoredStreams.Empty; // guarded by _reconcile for writes
    // Made on first use: the random bytes come from OpenSSL, which a relay nobody queries need not load (~5 MB resident).
    private readonly Lazy<byte[]> _etagKey = new(() => System.Security.Cryptography.RandomNumberGenerator.GetBytes(32), LazyThreadSafetyMode.ExecutionAndPublication);
    private IDisposable? _reloadRegistration;
    private int _stopped;

    private readonly Metrics.RelayMetrics? _metrics;

    public StreamRegistry(RelayConfig config, IConfiguration configuration, ISourceFactory sources, TimeProvider time, ILoggerFactory loggers, Metrics.RelayMetrics? metrics = null)
    {
        _metrics = metrics;
        _initial = config;
        _current = config;
        _configuration = configuration;
        _sources = sources;
        _time = time;
        _loggers = loggers;
        _logger = loggers.CreateLogger<StreamRegistry>();
        Started = time.GetUtcNow();
    }

    /// <summary>Gets the running streams.</summary>
    public IReadOnlyCollection<PulledStream> Streams => _streams.Values.OrderBy(s => s.Name, StringComparer.OrdinalIgnoreCase).ToArray();

    /// <summary>Gets the streams other nodes pull (their <c>Node</c> names other nodes), by configuration.</summary>
    public IReadOnlyCollection<StreamConfig> Elsewhere => _elsewhere.Values.OrderBy(s => s.Name, StringComparer.OrdinalIgnoreCase).ToArray();

    /// <summary>Gets when the registry was made (the relay started).</summary>
    public DateTimeOffset Started { get; }

    /// <summary>Gets this relay's node name, when it has one.</summary>
    public string? NodeName => _current.NodeName;

    /// <summary>Gets a stream's configuration, whether this relay pulls it or another node does; null when there is no such stream.</summary>
    public StreamConfig? ConfigOf(string name) =>
        FindStream(name)?.Config ?? (_elsewhere.TryGetValue(name.Trim('/'), out var config) ? config : null);

    /// <summary>Gets the channels.</summary>
    public IReadOnlyCollection<Channel> Channels => _channels.Values.OrderBy(c => c.Name, StringComparer.OrdinalIgnoreCase).ToArray();

    /// <summary>Finds a channel by name (case-insensitive; leading and trailing slashes ignored).</summary>
    public bool TryGetChannel(string name, [NotNullWhen(true)] out Channel? channel) => _channels.TryGetValue(name.Trim('/'), out channel);

    /// <summary>Finds a channel by name, or null (see <see cref="TryGetChannel"/>).</summary>
    public Channel? FindChannel(string name) => TryGetChannel(name, out var channel) ? channel : null;

    /// <summary>Tells whether a channel was made or changed through the API (else it is the configuration's).</summary>
    public bool IsChannelFromApi(string name) => _stored.Channels.ContainsKey(name);

    /// <summary>Gets the HTTP validator (<c>ETag</c>) of a channel's configuration.</summary>
    public string ETag(ChannelConfig config) => Tag($"channel\n{config.Name}\n{config.Stream}");

    /// <summary>
    /// Changes one channel as the API asks, in order with every other change (see <see cref="EditStreamAsync"/>): saved to
    /// the state file, then applied; a switch reaches the channel's readers before this returns.
    /// </summary>
    /// <returns>True when a change was made.</returns>
    /// <exception cref="System.IO.IOException">The state file could not be written; nothing changed.</exception>
    public Task<bool> EditChannelAsync(string name, Func<ChannelConfig?, Edit<ChannelConfig>> plan) =>
        SaveAndApplyAsync(
            () => plan(_channels.TryGetValue(name, out var channel) ? channel.Config : null) switch
            {
                { Kind: EditKind.Delete } => _stored.WithoutChannel(name, inFile: _current.Channels.ContainsKey(name)),
                { Kind: EditKind.Save, Config: { } config } => _stored.WithChannel(config.Name, config.Stream),
                _ => null,
            },
            () =>
            {
                ApplyChannelsLocked();
                return Task.CompletedTask;
            });

    /// <summary>Gets the configuration as last read from its sources (start-up, then each valid reload).</summary>
    public RelayConfig Current => _current;

    /// <summary>Raised after a reload was applied (or rejected), for tests and status.</summary>
    public event Action<bool>? Reloaded;

    /// <summary>Tells whether a stream was made or changed through the API (else it is the configuration's).</summary>
    public bool IsFromApi(string name) => _stored.Streams.ContainsKey(name);

    /// <summary>
    /// Gets a validator of a stream's configuration for HTTP (<c>ETag</c>/<c>If-Match</c>): it changes whenever a
    /// setting does, credentials included, yet reveals nothing of them (a keyed hash, keyed per process).
    /// </summary>
    public string ETag(StreamConfig config) =>
        Tag(string.Join('\n', StreamSettings.From(config, redact: false).Select(s => $"{s.Key}={s.Value}").Prepend(config.Name)));

    /// <summary>
    /// Changes one stream as the API asks, in order with reloads and other changes: <paramref name="plan"/> sees the
    /// stream's configuration as it is now (null when there is none) and says what it becomes. The change is written
    /// to the state file, then applied.
    /// </summary>
    /// <returns>True when a change was made.</returns>
    /// <exception cref="System.IO.IOException">The state file could not be written; nothing changed.</exception>
    public Task<bool> EditStreamAsync(string name, Func<StreamConfig?, Edit<StreamConfig>> plan) =>
        SaveAndApplyAsync(
            () => plan(ConfigOf(name)) switch
            {
                { Kind: EditKind.Delete } => _stored.Without(name, inFile: _current.Streams.ContainsKey(name)),
                { Kind: EditKind.Save, Config: { } config } => _stored.With(config.Name, StreamSettings.Explicit(config)),
                _ => null,
            },
            () =>
            {
                Log.Edited(_logger, name, _stored.Streams.ContainsKey(name) ? "saved" : "deleted");
                return ApplyLockedAsync(Wanted());
            });

    /// <summary>
    /// Under the reconciliation lock: <paramref name="change"/> gives the state after an API change (null: none), which
    /// is written to the state file and then applied by <paramref name="apply"/>.
    /// </summary>
    private async Task<bool> SaveAndApplyAsync(Func<StoredStreams?> change, Func<Task> apply)
    {
        await _reconcile.WaitAsync();
        try
        {
            if (Volatile.Read(ref _stopped) != 0 || change() is not { } stored)
            {
                return false;
            }

            StateFile.Save(_initial.StateFile, stored);
            _stored = stored;
            await apply();
            return true;
        }
        finally
        {
            _reconcile.Release();
        }
    }

    /// <summary>Finds a stream by name (case-insensitive; leading and trailing slashes ignored).</summary>
    public bool TryGetStream(string name, [NotNullWhen(true)] out PulledStream? stream) => _streams.TryGetValue(name.Trim('/'), out stream);

    /// <summary>Finds a stream by name, or null (see <see cref="TryGetStream"/>).</summary>
    public PulledStream? FindStream(string name) => TryGetStream(name, out var stream) ? stream : null;

    /// <inheritdoc />
    public bool TryGetHub(string path, [NotNullWhen(true)] out StreamHub? hub)
    {
        hub = FindStream(path)?.Hub ?? FindChannel(path)?.Hub;
        return hub is not null;
    }

    /// <inheritdoc />
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        GstRuntime.EnsureInitialized();
        Log.GStreamerReady(_logger, GstRuntime.Version);
        _stored = LoadState(_initial.StateFile);
        var wanted = Wanted();
        await ApplyAsync(wanted);
        if (_current.NodeName is null && wanted.Values.FirstOrDefault(s => s.Node is not null) is { } pinned)
        {
            Log.NoNodeName(_logger, pinned.Name, pinned.Node!);
        }

        if (_streams.IsEmpty)
        {
            if (_elsewhere.Count == 0)
            {
                Log.NoStreams(_logger);
            }
            else
            {
                Log.NoStreamsForNode(_logger, _current.NodeName ?? "", _elsewhere.Count);
            }
        }

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
            foreach (var channel in _channels.Values)
            {
                channel.Dispose();
            }

            _channels.Clear();
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

        if (next.Rtsp != _current.Rtsp || next.Hls != _current.Hls || next.Mjpeg != _current.Mjpeg || next.Api != _current.Api || next.StateFile != _current.StateFile)
        {
            Log.ServerChangeNeedsRestart(_logger);
        }

        try
        {
            await _reconcile.WaitAsync();
            try
            {
                _current = next;
                await ApplyLockedAsync(Wanted());
            }
            finally
            {
                _reconcile.Release();
            }

            Reloaded?.Invoke(true);
        }
        catch (Exception e)
        {
            Log.ReloadFailed(_logger, e);
            Reloaded?.Invoke(false);
        }
    }

    private async Task ApplyAsync(IReadOnlyDictionary<string, StreamConfig> wanted)
    {
        await _reconcile.WaitAsync();
        try
        {
            await ApplyLockedAsync(wanted);
        }
        finally
        {
            _reconcile.Release();
        }
    }

    /// <summary>Gets the streams wanted now: the configuration's, overlaid by the API's (see the remarks).</summary>
    private Dictionary<string, StreamConfig> Wanted()
    {
        var wanted = new Dictionary<string, StreamConfig>(_current.Streams.Where(s => !_stored.Removed.Contains(s.Key)), StringComparer.OrdinalIgnoreCase);
        foreach (var (name, settings) in _stored.Streams)
        {
            var (config, problems) = StreamSettings.Validate(name, settings);
            if (config is null)
            {
                // Written by an older or newer Relay, or edited by hand: say what is wrong and keep it, unapplied.
                Log.StoredStreamInvalid(_logger, name, string.Join("; ", problems.Select(p => $"{p.Key}: {string.Join(", ", p.Value)}")));
                continue;
            }

            wanted[name] = config;
        }

        return wanted;
    }

    private StoredStreams LoadState(string path)
    {
        try
        {
            var state = StateFile.Load(path);
            if (state.Streams.Count + state.Removed.Count > 0)
            {
                Log.StateLoaded(_logger, System.IO.Path.GetFullPath(path), state.Streams.Count, state.Removed.Count);
            }

            return state;
        }
        catch (Exception e) when (e is System.IO.InvalidDataException or System.IO.IOException or UnauthorizedAccessException)
        {
            // Atomic writes mean this is a file damaged or edited outside Relay. Keep it for the operator, start
            // without it: the configuration's streams still run.
            var aside = $"{path}.unreadable-{DateTime.UtcNow:yyyyMMddTHHmmssZ}";
            try
            {
                System.IO.File.Move(path, aside);
            }
            catch (Exception moveFailed) when (moveFailed is System.IO.IOException or UnauthorizedAccessException)
            {
                aside = path;
            }

            Log.StateUnreadable(_logger, e.Message, aside);
            return StoredStreams.Empty;
        }
    }

    private async Task ApplyLockedAsync(IReadOnlyDictionary<string, StreamConfig> next)
    {
        if (Volatile.Read(ref _stopped) != 0)
        {
            return;
        }

        var elsewhere = next.Values.Where(s => !_current.PullsHere(s)).ToDictionary(s => s.Name, StringComparer.OrdinalIgnoreCase);
        foreach (var config in elsewhere.Values.Where(s => !_elsewhere.TryGetValue(s.Name, out var before) || before.Node != s.Node))
        {
            Log.StreamElsewhere(_logger, config.Name, config.Node!);
        }

        _elsewhere = elsewhere;
        next = next.Where(s => _current.PullsHere(s.Value)).ToDictionary(StringComparer.OrdinalIgnoreCase);
        var removed = _streams.Keys.Where(name => !next.ContainsKey(name)).ToList();
        var added = next.Values.Where(s => !_streams.ContainsKey(s.Name)).ToList();
        var changed = next.Values.Where(s => _streams.TryGetValue(s.Name, out var r) && !PulledStream.SameConfig(r.Config, s)).ToList();

        foreach (var name in removed)
        {
            if (_streams.TryRemove(name, out var stream))
            {
                await stream.DisposeAsync();
                _metrics?.ForgetStream(stream.Name);
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
            var stream = new PulledStream(config, _sources, _time, _loggers.CreateLogger($"Relay.Stream.{config.Name}"), _metrics);
            _streams[config.Name] = stream;
            await stream.StartAsync();
            Log.StreamStarted(_logger, config.Name, stream.Source, config.OnDemand ? "on demand" : "always");
        }

        if (removed.Count + added.Count + changed.Count > 0)
        {
            Log.Reconciled(_logger, added.Count, removed.Count, changed.Count);
        }

        ApplyChannelsLocked();
    }

    /// <summary>Starts, stops and switches channels to match the configuration overlaid by the API's changes.</summary>
    private void ApplyChannelsLocked()
    {
        var wanted = new Dictionary<string, ChannelConfig>(_current.Channels.Where(c => !_stored.RemovedChannels.Contains(c.Key)), StringComparer.OrdinalIgnoreCase);
        foreach (var (name, stream) in _stored.Channels)
        {
            wanted[name] = new ChannelConfig { Name = name, Stream = stream };
        }

        foreach (var name in _channels.Keys.Where(n => !wanted.ContainsKey(n) || IsStreamName(n)).ToList())
        {
            if (_channels.TryRemove(name, out var channel))
            {
                channel.Dispose();
                _metrics?.ForgetChannel(channel.Name);
                Log.ChannelRemoved(_logger, channel.Name);
            }
        }

        foreach (var config in wanted.Values)
        {
            if (IsStreamName(config.Name))
            {
                Log.ChannelNameTaken(_logger, config.Name);
                continue;
            }

            var added = false;
            if (!_channels.TryGetValue(config.Name, out var channel))
            {
                channel = new Channel(config, _time, _loggers.CreateLogger($"Relay.Channel.{config.Name}"));
                _channels[config.Name] = channel;
                added = true;
            }

            var hadSource = channel.Source is not null;
            var source = _streams.TryGetValue(config.Stream, out var stream) ? stream.Hub : null;
            if (channel.Follow(config, source))
            {
                _metrics?.ChannelSwitches.WithLabels(channel.Name).Inc();
                Log.ChannelSwitched(_logger, channel.Name, config.Stream);
            }
            else if (added)
            {
                Log.ChannelStarted(_logger, channel.Name, config.Stream);
            }

            if (source is null && (hadSource || added))
            {
                Log.ChannelSourceMissing(_logger, channel.Name, config.Stream);
            }
        }
    }

    private bool IsStreamName(string name) => _streams.ContainsKey(name) || _elsewhere.ContainsKey(name);

    private string Tag(string text)
    {
        var hash = System.Security.Cryptography.HMACSHA256.HashData(_etagKey.Value, System.Text.Encoding.UTF8.GetBytes(text));
        return $"\"{Convert.ToHexStringLower(hash.AsSpan(0, 12))}\"";
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

        [LoggerMessage(EventIds.ConfigurationInvalid + 2, LogLevel.Warning, "Relay:Rtsp, Relay:Hls, Relay:Mjpeg, Relay:Api or Relay:StateFile changed; they take effect after a restart.")]
        public static partial void ServerChangeNeedsRestart(ILogger logger);

        [LoggerMessage(EventIds.Channel, LogLevel.Information, "Channel {Channel} added, showing {Stream}.")]
        public static partial void ChannelStarted(ILogger logger, string channel, string stream);

        [LoggerMessage(EventIds.Channel + 1, LogLevel.Information, "Channel {Channel} switched to {Stream}.")]
        public static partial void ChannelSwitched(ILogger logger, string channel, string stream);

        [LoggerMessage(EventIds.Channel + 2, LogLevel.Information, "Channel {Channel} removed.")]
        public static partial void ChannelRemoved(ILogger logger, string channel);

        [LoggerMessage(EventIds.Channel + 3, LogLevel.Warning, "Channel {Channel} shows stream {Stream}, which does not exist; its readers wait until it does.")]
        public static partial void ChannelSourceMissing(ILogger logger, string channel, string stream);

        [LoggerMessage(EventIds.Channel + 4, LogLevel.Error, "Channel {Channel} is not started: a stream has that name.")]
        public static partial void ChannelNameTaken(ILogger logger, string channel);

        [LoggerMessage(EventIds.StateFile, LogLevel.Information, "Stream {Stream} {Change} through the API.")]
        public static partial void Edited(ILogger logger, string stream, string change);

        [LoggerMessage(EventIds.StateFile + 1, LogLevel.Information, "State file {Path}: {Streams} stream(s) made or changed through the API, {Removed} configured stream(s) deleted through it.")]
        public static partial void StateLoaded(ILogger logger, string path, int streams, int removed);

        [LoggerMessage(EventIds.StateFile + 2, LogLevel.Error, "The state file could not be read ({Problem}); it was kept as {Aside} and Relay starts with the configured streams only.")]
        public static partial void StateUnreadable(ILogger logger, string problem, string aside);

        [LoggerMessage(EventIds.StateFile + 3, LogLevel.Error, "Stream {Stream} in the state file is not valid and is not started: {Problems}")]
        public static partial void StoredStreamInvalid(ILogger logger, string stream, string problems);

        [LoggerMessage(EventIds.Placement, LogLevel.Information, "Stream {Stream} is pulled by node(s) {Nodes}, not by this one; it is listed as elsewhere.")]
        public static partial void StreamElsewhere(ILogger logger, string stream, string nodes);

        [LoggerMessage(EventIds.Placement + 1, LogLevel.Warning, "No streams are configured. Add one with --Relay:Streams:NAME:Source=rtsp://… (or Relay__Streams__NAME__Source, a configuration file, or POST /api/v1/streams); see --help.")]
        public static partial void NoStreams(ILogger logger);

        [LoggerMessage(EventIds.Placement + 2, LogLevel.Warning, "None of the {Count} configured stream(s) is for node {Node}; this relay pulls nothing. Check the streams' Node settings and NODE_NAME.")]
        public static partial void NoStreamsForNode(ILogger logger, string node, int count);

        [LoggerMessage(EventIds.Placement + 3, LogLevel.Warning, "Stream {Stream} is for node(s) {Nodes}, but this relay has no node name (set NODE_NAME or Relay:NodeName); it pulls every stream.")]
        public static partial void NoNodeName(ILogger logger, string stream, string nodes);

        [LoggerMessage(EventIds.ConfigurationInvalid + 3, LogLevel.Error, "Applying the reloaded configuration failed.")]
        public static partial void ReloadFailed(ILogger logger, Exception exception);
    }
}
