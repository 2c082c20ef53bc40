using Microsoft.Extensions.Logging;
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
/// never slows the stream or its other readers), feeds a <see cref="PushPipeline"/>, and after a failure waits with
/// exponential backoff and jitter (<c>RetryDelay</c> up to <c>MaxRetryDelay</c>, refused credentials at
/// <c>MaxRetryDelay</c>) before connecting again. While the camera is away the push waits with its connection open
/// and resumes on the camera's next keyframe, on the stream's continuous timeline. It holds a lease on the stream, so
/// an on-demand camera is pulled while it pushes.
/// </summary>
internal sealed partial class StreamPusher : IAsyncDisposable
{
    /// <summary>How long media must flow without an error before the push counts as up (a refused connection fails sooner).</summary>
    private static readonly TimeSpan Settle = TimeSpan.FromSeconds(2);

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

    private async Task RunAsync()
    {
        using var lease = _hub.Lease();
        var failures = 0;
        while (!_stop.IsCancellationRequested)
        {
            var before = Bytes;
            var outcome = await PushOnceAsync();
            if (_stop.IsCancellationRequested || outcome is null)
            {
                return;
            }

            var (message, slow, unsupported) = outcome.Value;
            Fail(message);
            if (unsupported)
            {
                Log.Unsupported(_logger, _hub.Name, Target.Name, message);
                SetState("unsupported");
            }
            else
            {
                Log.Failed(_logger, _hub.Name, Target.Name, message);
                SetState("retrying");
            }

            failures = Bytes > before ? 1 : failures + 1; // a push that went out starts the backoff again
            var config = _hub.Config;
            var delay = slow || unsupported
                ? config.MaxRetryDelay
                : ReconnectPolicy.Delay(config, RelayError.SourceUnreachable, failures, sinceOnline: null, Random.Shared.NextDouble());
            try
            {
                await Task.Delay(delay, _time, _stop.Token);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            Interlocked.Increment(ref _reconnects);
        }
    }

    /// <summary>Pushes until the pipeline fails or the pusher stops.</summary>
    /// <returns>Null when stopped; else why the push ended, whether to retry slowly (refused credentials), and whether it cannot work at all.</returns>
    private async Task<(string Message, bool Slow, bool Unsupported)?> PushOnceAsync()
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
                            return (refusal, false, true);
                        }

                        planned = reader.Tracks;
                        foreach (var track in plan.LeftOut)
                        {
                            Log.TrackLeftOut(_logger, _hub.Name, Target.Name, track);
                        }

                        SetState("connecting");
                        Log.Connecting(_logger, _hub.Name, Target.Name, RedactedUrl);
                        void OnError(string error)
                        {
                            // On GStreamer's bus thread or the RTMP reading task: wake the reading loop, which may be
                            // waiting for the camera.
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
                            ? await RtmpPush.StartAsync(flv, _url, _hub.Config.ConnectTimeout, OnError, cancel.Token)
                            : PushPipeline.Start(plan, _url, OnError);
                    }

                    if (ParametersChanged(planned!, reader.Tracks))
                    {
                        // New SPS/PPS (a camera setting changed): the codec data the pipeline was built with is stale.
                        return ("the camera's video parameters changed; connecting again with the new ones", false, false);
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
                        var stopped = failure ?? "the push pipeline stopped taking media";
                        return (stopped, IsAuthFailure(stopped), false);
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
            return ("the stream's codec changed or the push fell behind; starting again", false, false);
        }
        catch (RtmpException e)
        {
            return (e.Message, e.Refused, false);
        }
        catch (GstException e)
        {
            return (SourceUri.Scrub(e.Message, _url), false, false);
        }
        catch (FormatException e)
        {
            return ($"the camera's parameter sets cannot be read ({e.Message})", false, false);
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested)
        {
            return null;
        }
        catch (OperationCanceledException)
        {
            var message = failure ?? "the push pipeline stopped";
            return (message, IsAuthFailure(message), false);
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

    private static bool IsAuthFailure(string message) =>
        message.Contains("401", StringComparison.Ordinal) || message.Contains("403", StringComparison.Ordinal)
        || message.Contains("unauthorized", StringComparison.OrdinalIgnoreCase) || message.Contains("authenticat", StringComparison.OrdinalIgnoreCase)
        || message.Contains("forbidden", StringComparison.OrdinalIgnoreCase) || message.Contains("rejected", StringComparison.OrdinalIgnoreCase);

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
    }
}
