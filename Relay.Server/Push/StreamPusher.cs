using Microsoft.Extensions.Logging;
using Polly;
using Polly.CircuitBreaker;
using Polly.Retry;
using Relay.Api;
using Relay.Configuration;
using Relay.Media;
using Relay.Server.GStreamer;
using Relay.Server.Sources;
using Relay.Server.Streams;

namespace Relay.Server.Push;

/// <summary>
/// Pushes one stream to one target, supervised like a source: it reads the stream's access units from a reader of its
/// own (starting on a keyframe; a destination that cannot keep up makes it skip to the next keyframe, counted, and
/// never slows the stream or its other readers), feeds an <see cref="IPushOutput"/>, and after a failure waits with
/// exponential backoff and jitter (<c>RetryDelay</c> up to <c>MaxRetryDelay</c>; refusals at <c>MaxRetryDelay</c>, and
/// after <see cref="BreakerThreshold"/> in a row a circuit breaker holds it off for longer) before connecting again.
/// While the camera is away the push waits with its connection open and resumes on the camera's next keyframe, on the
/// stream's continuous timeline. It holds a lease on the stream, so an on-demand camera is pulled while it pushes.
/// </summary>
internal sealed partial class StreamPusher : IAsyncDisposable
{
    /// <summary>How long media must flow without an error before the push counts as up (a refused connection fails sooner).</summary>
    private static readonly TimeSpan Settle = TimeSpan.FromSeconds(2);

    /// <summary>The refusals in a row (a wrong stream key or password) that open the circuit breaker.</summary>
    internal const int BreakerThreshold = 3;

    /// <summary>How many <c>MaxRetryDelay</c>s an open breaker lets pass before it tries again.</summary>
    internal const int BreakerOpenFactor = 4;

    /// <summary>The most bytes waiting in the push pipeline before frames are skipped to the next keyframe.</summary>
    private const long MaxQueuedBytes = 4 * 1024 * 1024;

    private readonly StreamHub _hub;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly Uri _url;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private readonly Lock _gate = new();
    private string _state = "waiting"; // guarded by _gate
    private DateTimeOffset _since; // guarded by _gate
    private string? _lastError; // guarded by _gate
    private DateTimeOffset? _lastErrorAt; // guarded by _gate
    private long _bytes;
    private long _reconnects;
    private long _skipped;
    private string? _lastRefusal; // the loop's only
    private bool _wentOut; // media flowed in this attempt; the loop's only

    public StreamPusher(StreamHub hub, PushTarget target, TimeProvider time, ILogger logger)
    {
        _hub = hub;
        Target = target;
        _time = time;
        _logger = logger;
        _url = new Uri(target.Url);
        _since = time.GetUtcNow();
        _loop = Task.Run(RunAsync);
    }

    public PushTarget Target { get; }

    /// <summary>Gets the target's URL without its stream key or credentials.</summary>
    public string RedactedUrl => SourceUri.Redact(_url);

    public long Bytes => Interlocked.Read(ref _bytes);

    public long Reconnects => Interlocked.Read(ref _reconnects);

    /// <summary>Gets a value indicating whether media is going out now.</summary>
    public bool IsPushing
    {
        get
        {
            lock (_gate)
            {
                return _state == "pushing" && _hub.IsOnline;
            }
        }
    }

    /// <summary>Gets the push's status for the API.</summary>
    public PushStatus Status()
    {
        lock (_gate)
        {
            return new PushStatus
            {
                Name = Target.Name,
                Url = RedactedUrl,
                State = _state == "pushing" && !_hub.IsOnline ? "waiting" : _state,
                Since = _since,
                LastError = _lastError,
                LastErrorAt = _lastErrorAt,
                Bytes = Bytes,
                Reconnects = Reconnects,
                SkippedFrames = Interlocked.Read(ref _skipped),
            };
        }
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _loop;
        _stop.Dispose();
    }

    private void SetState(string state)
    {
        lock (_gate)
        {
            if (_state != state)
            {
                _state = state;
                _since = _time.GetUtcNow();
            }
        }
    }

    private void Fail(string message)
    {
        lock (_gate)
        {
            _lastError = message;
            _lastErrorAt = _time.GetUtcNow();
        }
    }

    /// <summary>
    /// Builds the attempt pipeline, outermost first: an endless retry for attempts that failed before media went out
    /// (delays from <see cref="ReconnectPolicy"/>, with jitter; refusals and unsupported streams at <c>MaxRetryDelay</c>),
    /// and a circuit breaker that, after <see cref="BreakerThreshold"/> refusals in a row (a wrong stream key or
    /// password), fails attempts at once for <see cref="BreakerOpenFactor"/> × <c>MaxRetryDelay</c>: a destination
    /// that keeps saying no is probed, not hammered, and the status says so (<c>faulted</c>).
    /// </summary>
    internal ResiliencePipeline<PushEnd?> BuildAttemptPipeline()
    {
        var config = _hub.Config;
        return new ResiliencePipelineBuilder<PushEnd?> { TimeProvider = _time }
            .AddRetry(new RetryStrategyOptions<PushEnd?>
            {
                // Anything unforeseen is retried too: a push never ends while its target is configured.
                ShouldHandle = args => ValueTask.FromResult(
                    args.Outcome.Result is { WentOut: false } || args.Outcome.Exception is { } e && e is not OperationCanceledException),
                MaxRetryAttempts = int.MaxValue,
                DelayGenerator = args => ValueTask.FromResult<TimeSpan?>(args.Outcome switch
                {
                    { Exception: BrokenCircuitException broken } => (broken.RetryAfter ?? config.MaxRetryDelay) + TimeSpan.FromMilliseconds(100),
                    { Result: { Slow: true } or { Unsupported: true } } => config.MaxRetryDelay,
                    _ => ReconnectPolicy.Delay(config, RelayError.SourceUnreachable, args.AttemptNumber + 1, sinceOnline: null, Random.Shared.NextDouble()),
                }),
                OnRetry = args =>
                {
                    if (args.Outcome.Exception is not BrokenCircuitException)
                    {
                        Interlocked.Increment(ref _reconnects); // counted before the state changes, so a status read sees both
                    }

                    OnAttemptFailed(args.Outcome.Result, args.Outcome.Exception);
                    return ValueTask.CompletedTask;
                },
            })
            .AddCircuitBreaker(new CircuitBreakerStrategyOptions<PushEnd?>
            {
                ShouldHandle = args => ValueTask.FromResult(args.Outcome.Result is { Slow: true }),
                FailureRatio = 1.0,
                MinimumThroughput = BreakerThreshold,
                SamplingDuration = TimeSpan.FromSeconds(Math.Max(30, config.MaxRetryDelay.TotalSeconds * (BreakerThreshold + 1))),
                BreakDuration = config.MaxRetryDelay * BreakerOpenFactor,
                OnOpened = args =>
                {
                    Log.CircuitOpened(_logger, _hub.Name, Target.Name, BreakerThreshold, args.BreakDuration.TotalSeconds);
                    return ValueTask.CompletedTask;
                },
            })
            .Build();
    }

    private async Task RunAsync()
    {
        using var lease = _hub.Lease();
        var attempts = BuildAttemptPipeline();
        while (!_stop.IsCancellationRequested)
        {
            PushEnd? end;
            try
            {
                end = await attempts.ExecuteAsync(async _ => await AttemptAsync(), _stop.Token);
            }
            catch (OperationCanceledException) when (_stop.IsCancellationRequested)
            {
                return;
            }

            if (_stop.IsCancellationRequested || end is null)
            {
                return;
            }

            // Media went out before this failure: like a camera that just dropped, the destination is most likely
            // back soon, so the backoff starts again at RetryDelay.
            Interlocked.Increment(ref _reconnects);
            OnAttemptFailed(end, null);
            var delay = ReconnectPolicy.Delay(_hub.Config, RelayError.SourceUnreachable, 1, sinceOnline: null, Random.Shared.NextDouble());
            try
            {
                await Task.Delay(delay, _time, _stop.Token);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private void OnAttemptFailed(PushEnd? end, Exception? exception)
    {
        if (exception is BrokenCircuitException broken)
        {
            var wait = broken.RetryAfter ?? _hub.Config.MaxRetryDelay;
            var message = $"{_lastRefusal} (refused {BreakerThreshold} times in a row; next try in {wait.TotalSeconds:0} s)";
            Fail(message);
            SetState("faulted");
            return;
        }

        var (reason, unsupported) = end is null
            ? (exception is null ? "the push ended" : SourceUri.Scrub(exception.Message, _url), false)
            : (end.Message, end.Unsupported);
        if (end is { Slow: true })
        {
            _lastRefusal = reason;
        }

        Fail(reason);
        if (unsupported)
        {
            Log.Unsupported(_logger, _hub.Name, Target.Name, reason);
            SetState("unsupported");
        }
        else
        {
            Log.Failed(_logger, _hub.Name, Target.Name, reason);
            SetState("retrying");
        }
    }

    /// <summary>One attempt: connects when the stream has a keyframe and pushes until the destination or the stream fails.</summary>
    /// <returns>Null when stopped; else why it ended.</returns>
    private async Task<PushEnd?> AttemptAsync()
    {
        _wentOut = false;
        return await PushOnceAsync() is { } end ? end with { WentOut = _wentOut } : null;
    }

    /// <summary>Pushes until the pipeline fails or the pusher stops.</summary>
    /// <returns>Null when stopped; else why the push ended (<see cref="PushEnd.WentOut"/> is the caller's to set).</returns>
    private async Task<PushEnd?> PushOnceAsync()
    {
        AccessUnitReader reader;
        try
        {
            reader = _hub.OpenReader(StartAt.Keyframe, wakeOnSyncTrack: true); // a push forwards: one wake per video frame
        }
        catch (ObjectDisposedException)
        {
            return null;
        }

        IPushOutput? pipeline = null;
        string? failure = null;
        var refused = false; // the destination said no (a wrong stream key or credentials)
        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
        try
        {
            SetState("waiting");
            var synced = true;
            IReadOnlyList<TrackInfo>? planned = null;
            while (await reader.ReadAsync(cancel.Token) is { } unit)
            {
                using (new Releaser(unit))
                {
                    if (pipeline is null && reader.Tracks.Any(t => t.Kind == MediaKind.Video && !t.HasDecoderConfiguration))
                    {
                        continue; // the camera's parameter sets are not known yet: the codec data cannot be written
                    }

                    if (pipeline is null)
                    {
                        var plan = PushPipeline.Plan(_url, reader.Tracks);
                        if (plan.Refusal is { } refusal)
                        {
                            return new PushEnd(refusal, false, true, WentOut: false);
                        }

                        planned = reader.Tracks;
                        foreach (var track in plan.LeftOut)
                        {
                            Log.TrackLeftOut(_logger, _hub.Name, Target.Name, track);
                        }

                        SetState("connecting");
                        Log.Connecting(_logger, _hub.Name, Target.Name, RedactedUrl);
                        void OnError(string error, bool refusal)
                        {
                            // On GStreamer's bus thread or the RTMP reading task: wake the reading loop, which may be
                            // waiting for the camera.
                            refused = refusal;
                            failure = error;
                            _ = Task.Run(() =>
                            {
                                try
                                {
                                    cancel.Cancel();
                                }
                                catch (ObjectDisposedException)
                                {
                                    // The push already ended.
                                }
                            });
                        }

                        pipeline = plan.Flv is { } flv
                            ? await RtmpPush.StartAsync(flv, plan.Transcode, _url, _hub.Config.ConnectTimeout, OnError, cancel.Token)
                            : PushPipeline.Start(plan, _url, OnError);
                    }

                    if (ParametersChanged(planned!, reader.Tracks))
                    {
                        // New SPS/PPS (a camera setting changed): the codec data the pipeline was built with is stale.
                        return new PushEnd("the camera's video parameters changed; connecting again with the new ones", false, false, WentOut: false);
                    }

                    if (!unit.IsKeyframe && !synced)
                    {
                        Interlocked.Increment(ref _skipped);
                        continue;
                    }

                    if (pipeline.QueuedBytes > MaxQueuedBytes)
                    {
                        // The destination is slower than the camera: drop to the next keyframe rather than queue without end.
                        synced = false;
                        Interlocked.Increment(ref _skipped);
                        continue;
                    }

                    synced = true;
                    if (!await pipeline.PushAsync(unit, cancel.Token))
                    {
                        var (stopped, refusal) = pipeline.Failure ?? (failure ?? "the push pipeline stopped taking media", refused);
                        return new PushEnd(stopped, refusal, false, WentOut: false);
                    }

                    if (pipeline.Tracks.Contains(unit.TrackIndex))
                    {
                        Interlocked.Add(ref _bytes, unit.Length);
                        MarkPushing();
                    }
                }
            }

            return null; // the stream went away (deleted, or the relay stops)
        }
        catch (Exception e) when (e is ReaderTooSlowException or StreamEndedException)
        {
            return new PushEnd("the stream's codec changed or the push fell behind; starting again", false, false, WentOut: false);
        }
        catch (RtmpException e)
        {
            return new PushEnd(e.Message, e.Refused, false, WentOut: false);
        }
        catch (GstException e)
        {
            return new PushEnd(SourceUri.Scrub(e.Message, _url), false, false, WentOut: false);
        }
        catch (FormatException e)
        {
            return new PushEnd($"the camera's parameter sets cannot be read ({e.Message})", false, false, WentOut: false);
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested)
        {
            return null;
        }
        catch (OperationCanceledException)
        {
            // OnError set failure and refused before it cancelled.
            var (message, refusal) = pipeline?.Failure ?? (failure ?? "the push pipeline stopped", refused);
            return new PushEnd(message, refusal, false, WentOut: false);
        }
        finally
        {
            Interlocked.Add(ref _skipped, reader.Skipped); // frames its queue dropped while the destination was slow
            reader.Dispose();
            if (pipeline is not null)
            {
                await pipeline.DisposeAsync();
            }
        }
    }

    private void MarkPushing()
    {
        lock (_gate)
        {
            if (_state == "pushing" || _time.GetUtcNow() - _since < Settle)
            {
                return;
            }
        }

        _wentOut = true;
        SetState("pushing");
        Log.Pushing(_logger, _hub.Name, Target.Name);
    }

    private static bool ParametersChanged(IReadOnlyList<TrackInfo> planned, IReadOnlyList<TrackInfo> now)
    {
        if (ReferenceEquals(planned, now) || planned.Count != now.Count)
        {
            return !ReferenceEquals(planned, now) && planned.Count != now.Count;
        }

        for (var i = 0; i < planned.Count; i++)
        {
            if (!planned[i].Sps.Span.SequenceEqual(now[i].Sps.Span) || !planned[i].Pps.Span.SequenceEqual(now[i].Pps.Span)
                || !planned[i].AudioConfig.Span.SequenceEqual(now[i].AudioConfig.Span))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Why an attempt ended.</summary>
    /// <param name="Message">What happened, scrubbed of secrets.</param>
    /// <param name="Slow">The destination refused (a wrong stream key or credentials): retried at <c>MaxRetryDelay</c>, and counted by the breaker.</param>
    /// <param name="Unsupported">The stream cannot go to this destination (a codec it does not take).</param>
    /// <param name="WentOut">Media flowed in this attempt before it failed: the backoff starts again.</param>
    internal sealed record PushEnd(string Message, bool Slow, bool Unsupported, bool WentOut);

    private readonly struct Releaser(AccessUnit unit) : IDisposable
    {
        public void Dispose() => unit.Release();
    }

    private static partial class Log
    {
        [LoggerMessage(EventIds.Push, LogLevel.Information, "Stream {Stream}: pushing to {Target} ({Url}): connecting.")]
        public static partial void Connecting(ILogger logger, string stream, string target, string url);

        [LoggerMessage(EventIds.Push + 1, LogLevel.Information, "Stream {Stream}: pushing to {Target}.")]
        public static partial void Pushing(ILogger logger, string stream, string target);

        [LoggerMessage(EventIds.Push + 2, LogLevel.Warning, "Stream {Stream}: the push to {Target} failed ({Reason}); retrying.")]
        public static partial void Failed(ILogger logger, string stream, string target, string reason);

        [LoggerMessage(EventIds.Push + 3, LogLevel.Error, "Stream {Stream} cannot be pushed to {Target}: {Reason}.")]
        public static partial void Unsupported(ILogger logger, string stream, string target, string reason);

        [LoggerMessage(EventIds.Push + 4, LogLevel.Information, "Stream {Stream}: {Track} is not pushed to {Target} (not a codec the destination takes).")]
        public static partial void TrackLeftOut(ILogger logger, string stream, string target, string track);

        [LoggerMessage(EventIds.Push + 5, LogLevel.Warning, "Stream {Stream}: {Target} refused the push {Failures} times in a row; trying again in {Seconds:0} s.")]
        public static partial void CircuitOpened(ILogger logger, string stream, string target, int failures, double seconds);
    }
}
