using Microsoft.Extensions.Logging;
using Relay.Configuration;
using Relay.Media;

namespace Relay.Server.Streams;

/// <summary>
/// A named path (<c>cam1</c>): the hub between one source and any number of readers. It owns the stream's
/// tracks (remembered while the camera is away, so DESCRIBE can still be answered), one continuous
/// timeline across source connections (<see cref="StreamTimeline"/>), the GOP cache of its anchor video
/// track (<see cref="GopCache"/>), and its subscribers. The source delivers on one thread; every subscriber
/// call happens under <see cref="_gate"/>, which also makes attaching atomic with GOP replay (no frame is
/// lost or doubled between the cache and live).
/// </summary>
internal sealed partial class StreamHub : IMediaSink, IDisposable
{
    private readonly Lock _gate = new();
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly StreamTimeline _timeline; // guarded by _gate
    private readonly GopCache<AccessUnit> _gop; // guarded by _gate
    private FrameQueueOptions _readerOptions;
    private TaskCompletionSource _ready = new(TaskCreationOptions.RunContinuationsAsynchronously); // guarded by _gate
    private TrackInfo[] _tracks = []; // guarded by _gate; replaced, never mutated
    private IStreamSubscriber[] _subscribers = []; // guarded by _gate; copy-on-write
    private int _anchorTrack = -1; // guarded by _gate
    private bool _awaitingKeyframe; // guarded by _gate
    private bool _online;
    private bool _disposed; // guarded by _gate
    private StreamConfig _config;
    private int _leases;
    private int _sourceSwitches;
    private long _units;
    private long _bytes;
    private long _lastUnitTimestamp;
    private long _lastKeyframeTimestamp;
    private long _keyframeIntervalTicks;
    private readonly long[] _framesByKind = new long[Enum.GetValues<MediaKind>().Length]; // indexed by MediaKind
    private TrackRate[] _rates = []; // guarded by _gate

    public StreamHub(StreamConfig config, TimeProvider time, ILogger logger)
    {
        _config = config;
        _time = time;
        _logger = logger;
        _timeline = new StreamTimeline(time);
        _gop = new GopCache<AccessUnit>(config.GopCacheMaxBytes, config.GopCacheMaxDuration);
        _readerOptions = new FrameQueueOptions(config.ReaderQueueMaxFrames, config.ReaderQueueMaxBytes, config.ReaderStallTimeout);
    }

    /// <summary>Gets the stream's name (its path).</summary>
    public string Name => Config.Name;

    /// <summary>Gets the stream's configuration (replaced by <see cref="UpdateConfig"/>).</summary>
    public StreamConfig Config => Volatile.Read(ref _config);

    /// <summary>Gets the bounds used for each new reader's queue.</summary>
    public FrameQueueOptions ReaderOptions => Volatile.Read(ref _readerOptions);

    /// <summary>Gets the number of readers (and pending DESCRIBEs) that want this stream's media.</summary>
    public int Leases => Volatile.Read(ref _leases);

    /// <summary>Raised when <see cref="Leases"/> changes, with the new count (on the thread that changed it).</summary>
    public event Action<int>? LeasesChanged;

    /// <summary>Gets the stream's tracks (the last known ones while the source is away).</summary>
    public IReadOnlyList<TrackInfo> Tracks
    {
        get
        {
            lock (_gate)
            {
                return _tracks;
            }
        }
    }

    /// <summary>Gets a value indicating whether a source connection is delivering.</summary>
    public bool IsOnline => Volatile.Read(ref _online);

    /// <summary>Gets a value indicating whether the tracks are known well enough to describe the stream.</summary>
    public bool IsReady => _ready.Task.IsCompleted;

    /// <summary>Gets the wall-clock time of timestamp zero on the stream's timeline.</summary>
    public DateTimeOffset TimelineOrigin => _timeline.OriginUtc;

    /// <summary>Gets the number of source connections (epochs) so far.</summary>
    public int Epochs
    {
        get
        {
            lock (_gate)
            {
                return _timeline.Epoch;
            }
        }
    }

    /// <summary>Gets how many times the stream's source was switched to another (a channel's): muxers mark each with a discontinuity.</summary>
    public int SourceSwitches => Volatile.Read(ref _sourceSwitches);

    /// <summary>Records that the next epoch comes from another source (a channel switched streams).</summary>
    public void NoteSourceSwitch() => Interlocked.Increment(ref _sourceSwitches);

    /// <summary>Gets the number of subscribers.</summary>
    public int SubscriberCount => Volatile.Read(ref _subscribers).Length;

    /// <summary>Gets counters for status and metrics.</summary>
    public StreamStatistics Statistics
    {
        get
        {
            var last = Interlocked.Read(ref _lastUnitTimestamp);
            return new StreamStatistics(
                Interlocked.Read(ref _units),
                Interlocked.Read(ref _bytes),
                last == 0 ? null : _time.GetElapsedTime(last),
                TimeSpan.FromTicks(Interlocked.Read(ref _keyframeIntervalTicks)),
                _gop.Overflows);
        }
    }

    /// <summary>Gets the frames received, by track kind (indexed by <see cref="MediaKind"/>).</summary>
    public long FramesOf(MediaKind kind) => Interlocked.Read(ref _framesByKind[(int)kind]);

    /// <summary>Gets a track's inbound bitrate over the last second or so, in bits per second; null when unknown.</summary>
    public double? BitrateOf(int track)
    {
        lock (_gate)
        {
            return (uint)track < (uint)_rates.Length ? _rates[track].BitsPerSecond(_time) : null;
        }
    }

    /// <summary>Waits until the stream can be described (its video decoder configuration is known).</summary>
    /// <returns>True when ready; false when <paramref name="timeout"/> passed first.</returns>
    public async Task<bool> WaitUntilReadyAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        Task ready;
        lock (_gate)
        {
            ready = _ready.Task;
        }

        try
        {
            await ready.WaitAsync(timeout, _time, cancellationToken);
            return true;
        }
        catch (TimeoutException)
        {
            return false;
        }
    }

    /// <summary>
    /// Declares interest in the stream's media until the returned handle is disposed. An on-demand stream pulls its
    /// camera while any lease is held.
    /// </summary>
    public IDisposable Lease()
    {
        LeasesChanged?.Invoke(Interlocked.Increment(ref _leases));
        return new LeaseHandle(this);
    }

    /// <summary>
    /// Applies settings that can change live: where new readers start, reader queue bounds and GOP cache bounds.
    /// The source itself is restarted by its owner when a source setting changed.
    /// </summary>
    public void UpdateConfig(StreamConfig config)
    {
        lock (_gate)
        {
            Volatile.Write(ref _config, config);
            Volatile.Write(ref _readerOptions, new FrameQueueOptions(config.ReaderQueueMaxFrames, config.ReaderQueueMaxBytes, config.ReaderStallTimeout));
            _gop.SetBounds(config.GopCacheMaxBytes, config.GopCacheMaxDuration);
        }
    }

    /// <summary>Opens a queued reader that starts at a keyframe (the cached GOP, or the next live one).</summary>
    /// <param name="wakeOnSyncTrack">Whether audio is queued with the next video unit (see <see cref="AccessUnitReader.WakeOnSyncTrack"/>).</param>
    public AccessUnitReader OpenReader(StartAt startAt, FrameQueueOptions? options = null, bool wakeOnSyncTrack = false)
    {
        var reader = new AccessUnitReader(this, options ?? _readerOptions, _time, wakeOnSyncTrack);
        Subscribe(reader, startAt);
        return reader;
    }

    /// <summary>Attaches a subscriber, handing it the cached GOP first when <paramref name="startAt"/> asks for it.</summary>
    /// <exception cref="ObjectDisposedException">The stream was removed.</exception>
    public void Subscribe(IStreamSubscriber subscriber, StartAt startAt)
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            subscriber.OnAttached(_tracks, _anchorTrack, startAt == StartAt.Keyframe ? _gop.Units : []);
            _subscribers = [.. _subscribers, subscriber];
        }
    }

    /// <summary>Detaches a subscriber; no call reaches it after this returns.</summary>
    public void Unsubscribe(IStreamSubscriber subscriber)
    {
        lock (_gate)
        {
            var index = Array.IndexOf(_subscribers, subscriber);
            if (index >= 0)
            {
                _subscribers = [.. _subscribers[..index], .. _subscribers[(index + 1)..]];
            }
        }
    }

    /// <inheritdoc />
    public void OnEpochStarted(IReadOnlyList<TrackInfo> tracks)
    {
        IStreamSubscriber[]? failed;
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            var previous = _tracks;
            var codecChanged = previous.Length > 0 && !SameCodecs(previous, tracks);
            _tracks = codecChanged ? [.. tracks] : Merge(previous, tracks);
            _anchorTrack = Array.FindIndex(_tracks, t => t.Kind == MediaKind.Video && t.Codec is Codec.H264 or Codec.H265);
            _gop.AnchorTrack = _anchorTrack;
            _awaitingKeyframe = _anchorTrack >= 0;
            _timeline.BeginEpoch();
            Volatile.Write(ref _online, true);
            if (codecChanged)
            {
                _gop.Clear();
                Log.CodecChanged(_logger, Name, Describe(previous), Describe(_tracks));
                _ready = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            }

            UpdateReady();
            failed = Notify((_tracks, _anchorTrack, codecChanged), static (s, t) => s.OnTracksChanged(t.Item1, t.Item2, t.Item3));
        }

        Detach(failed);
    }

    /// <inheritdoc />
    public void OnTrackChanged(TrackInfo track)
    {
        IStreamSubscriber[]? failed;
        lock (_gate)
        {
            if (_disposed || (uint)track.Index >= (uint)_tracks.Length)
            {
                return;
            }

            var tracks = (TrackInfo[])_tracks.Clone();
            tracks[track.Index] = track;
            _tracks = tracks;
            UpdateReady();
            failed = Notify((_tracks, _anchorTrack), static (s, t) => s.OnTracksChanged(t.Item1, t.Item2, codecChanged: false));
        }

        Detach(failed);
    }

    /// <inheritdoc />
    public void OnAccessUnit(AccessUnit unit)
    {
        IStreamSubscriber[]? failed = null;
        try
        {
            lock (_gate)
            {
                if (_disposed)
                {
                    return;
                }

                var isAnchor = unit.TrackIndex == _anchorTrack;
                if (_awaitingKeyframe && isAnchor)
                {
                    // A new epoch starts at a keyframe: earlier frames reference pictures readers never got.
                    if (!unit.IsKeyframe)
                    {
                        return;
                    }

                    _awaitingKeyframe = false;
                }

                _timeline.Rebase(unit);
                _gop.Add(unit);
                failed = Notify(unit, static (s, u) => s.OnAccessUnit(u));

                var now = _time.GetTimestamp();
                if (isAnchor && unit.IsKeyframe)
                {
                    if (_lastKeyframeTimestamp != 0)
                    {
                        Interlocked.Exchange(ref _keyframeIntervalTicks, _time.GetElapsedTime(_lastKeyframeTimestamp, now).Ticks);
                    }

                    _lastKeyframeTimestamp = now;
                }

                Interlocked.Increment(ref _units);
                Interlocked.Add(ref _bytes, unit.Length);
                Interlocked.Exchange(ref _lastUnitTimestamp, now);
                if ((uint)unit.TrackIndex < (uint)_tracks.Length)
                {
                    Interlocked.Increment(ref _framesByKind[(int)_tracks[unit.TrackIndex].Kind]);
                    RateOf(unit.TrackIndex).Add(unit.Length, now, _time);
                }
            }
        }
        finally
        {
            unit.Release();
        }

        Detach(failed);
    }

    /// <summary>
    /// Calls every subscriber (under <see cref="_gate"/>), each on its own: one that throws is taken off the list and
    /// returned, to be told it is detached once the lock is released, and the others still get the call.
    /// </summary>
    private IStreamSubscriber[]? Notify<TState>(TState state, Action<IStreamSubscriber, TState> call)
    {
        List<IStreamSubscriber>? failed = null;
        foreach (var subscriber in _subscribers)
        {
            try
            {
                call(subscriber, state);
            }
            catch (Exception e)
            {
                (failed ??= []).Add(subscriber);
                Log.SubscriberFailed(_logger, Name, subscriber.GetType().Name, e);
            }
        }

        if (failed is null)
        {
            return null;
        }

        _subscribers = [.. _subscribers.Except(failed)];
        return [.. failed];
    }

    private void Detach(IStreamSubscriber[]? failed)
    {
        foreach (var subscriber in failed ?? [])
        {
            try
            {
                subscriber.OnDetached();
            }
            catch (Exception e)
            {
                Log.SubscriberFailed(_logger, Name, subscriber.GetType().Name, e);
            }
        }
    }

    /// <inheritdoc />
    public void OnEpochEnded() => Volatile.Write(ref _online, false);

    /// <summary>Detaches every subscriber and drops the cache.</summary>
    public void Dispose()
    {
        IStreamSubscriber[] subscribers;
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            subscribers = _subscribers;
            _subscribers = [];
            _gop.Dispose();
            Volatile.Write(ref _online, false);
        }

        foreach (var subscriber in subscribers)
        {
            subscriber.OnDetached();
        }
    }

    private static bool SameCodecs(IReadOnlyList<TrackInfo> a, IReadOnlyList<TrackInfo> b) =>
        a.Count == b.Count && a.Zip(b).All(p => p.First.Kind == p.Second.Kind && p.First.Codec == p.Second.Codec);

    private static TrackInfo[] Merge(IReadOnlyList<TrackInfo> previous, IReadOnlyList<TrackInfo> current)
    {
        // Same codecs: keep what we learnt before (parameter sets, size) where the new SDP says less;
        // in-band parameters of the new epoch replace them as they arrive.
        var merged = new TrackInfo[current.Count];
        for (var i = 0; i < merged.Length; i++)
        {
            var now = current[i];
            var before = i < previous.Count ? previous[i] : null;
            merged[i] = before is null || now.HasDecoderConfiguration ? now : now with
            {
                Vps = before.Vps,
                Sps = before.Sps,
                Pps = before.Pps,
                AudioConfig = before.AudioConfig,
                Width = now.Width ?? before.Width,
                Height = now.Height ?? before.Height,
                FrameRate = now.FrameRate ?? before.FrameRate,
            };
        }

        return merged;
    }

    private static string Describe(IReadOnlyList<TrackInfo> tracks) => string.Join(", ", tracks.Select(t => t.ToString()));

    private TrackRate RateOf(int track)
    {
        if (track >= _rates.Length)
        {
            var rates = new TrackRate[track + 1];
            _rates.CopyTo(rates, 0);
            for (var i = _rates.Length; i < rates.Length; i++)
            {
                rates[i] = new TrackRate();
            }

            _rates = rates;
        }

        return _rates[track];
    }

    private void UpdateReady()
    {
        var ready = _tracks.Length > 0 && (_anchorTrack < 0 || _tracks[_anchorTrack].HasDecoderConfiguration);
        if (ready)
        {
            _ready.TrySetResult();
        }
    }

    private sealed class LeaseHandle(StreamHub stream) : IDisposable
    {
        private int _disposed;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0)
            {
                stream.LeasesChanged?.Invoke(Interlocked.Decrement(ref stream._leases));
            }
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventIds.SubscriberFailed, LogLevel.Error, "Stream {Stream}: a {Subscriber} failed and is detached; the stream's other readers continue.")]
        public static partial void SubscriberFailed(ILogger logger, string stream, string subscriber, Exception exception);

        [LoggerMessage(EventIds.StreamCodecChanged, LogLevel.Warning, "Stream {Stream}: the source's codec changed ({Before} → {After}); its readers are closed.")]
        public static partial void CodecChanged(ILogger logger, string stream, string before, string after);
    }
}

/// <summary>Bytes of one track per one-second window, for its bitrate. Used under the stream's lock.</summary>
internal sealed class TrackRate
{
    private long _windowStart;
    private long _windowBytes;
    private double? _last;
    private long _lastAt;

    public void Add(int bytes, long now, TimeProvider time)
    {
        if (_windowStart == 0)
        {
            _windowStart = now;
        }

        _windowBytes += bytes;
        var elapsed = time.GetElapsedTime(_windowStart, now);
        if (elapsed >= TimeSpan.FromSeconds(1))
        {
            _last = _windowBytes * 8 / elapsed.TotalSeconds;
            _lastAt = now;
            _windowStart = now;
            _windowBytes = 0;
        }
    }

    /// <summary>Gets the last full window's rate, or null when none or when it is stale (the track stopped).</summary>
    public double? BitsPerSecond(TimeProvider time) =>
        _last is { } rate && time.GetElapsedTime(_lastAt) < TimeSpan.FromSeconds(3) ? rate : null;
}

/// <summary>A stream's counters.</summary>
/// <param name="Units">Access units received.</param>
/// <param name="Bytes">Bytes of access units received.</param>
/// <param name="LastUnitAge">Time since the last unit, or null when none arrived yet.</param>
/// <param name="KeyframeInterval">Time between the last two keyframes of the anchor track (zero when unknown).</param>
/// <param name="GopCacheOverflows">GOPs too long to cache.</param>
internal sealed record StreamStatistics(long Units, long Bytes, TimeSpan? LastUnitAge, TimeSpan KeyframeInterval, long GopCacheOverflows);
