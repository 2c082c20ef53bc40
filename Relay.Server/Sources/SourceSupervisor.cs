using Microsoft.Extensions.Logging;
using Polly;
using Polly.CircuitBreaker;
using Polly.Retry;
using Polly.Timeout;
using Relay.Configuration;
using Relay.Server.GStreamer;
using Relay.Server.Streams;

namespace Relay.Server.Sources;

/// <summary>
/// Keeps one stream's source connected for as long as it runs. Its loop: connect (each attempt through a
/// Polly pipeline: attempt timeout, then retry with exponential backoff and jitter) → online until the
/// connection ends (camera gone, error, stall) → reconnect. A camera that rejects the credentials is
/// <see cref="StreamState.Faulted"/> and retried at the slowest pace, never hammered.
/// </summary>
internal sealed partial class SourceSupervisor : IAsyncDisposable
{
    private readonly StreamHub _stream;
    private readonly ISource _source;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly StreamConfig _config;
    private readonly CancellationTokenSource _stop = new();
    private readonly Lock _gate = new();
    private SourceStatus _status; // guarded by _gate
    private readonly Dictionary<RelayError, long> _reasons = []; // guarded by _gate
    private Task? _loop;
    private long _lastOnline; // timestamp when the last connection ended while online; 0 = never online

    public SourceSupervisor(StreamHub stream, ISource source, TimeProvider time, ILogger logger)
    {
        _stream = stream;
        _source = source;
        _time = time;
        _logger = logger;
        _config = stream.Config;
        _status = new SourceStatus(StreamState.Idle, time.GetUtcNow(), RelayError.None, null, null, 0, null);
    }

    /// <summary>Gets the current status.</summary>
    public SourceStatus Status
    {
        get
        {
            lock (_gate)
            {
                return _status;
            }
        }
    }

    /// <summary>Raised after every state change (on the supervisor's task).</summary>
    public event Action<SourceStatus>? StatusChanged;

    /// <summary>Raised when a connection attempt reached media, with how long the attempt took.</summary>
    public event Action<TimeSpan>? Connected;

    /// <summary>Gets the reconnections so far, by the reason the previous connection or attempt ended.</summary>
    public IReadOnlyDictionary<RelayError, long> ReconnectsByReason
    {
        get
        {
            lock (_gate)
            {
                return new Dictionary<RelayError, long>(_reasons);
            }
        }
    }

    /// <summary>Starts the loop.</summary>
    public void Start() => _loop ??= Task.Run(() => RunAsync(_stop.Token));

    /// <summary>Stops the loop and the current connection.</summary>
    public async ValueTask DisposeAsync()
    {
        SetState(StreamState.Stopping);
        await _stop.CancelAsync();
        if (_loop is not null)
        {
            await _loop;
        }

        _stop.Dispose();
        SetState(StreamState.Idle);
    }

    /// <summary>The consecutive refusals (not found, unauthorized) that open the circuit breaker.</summary>
    internal const int BreakerThreshold = 3;

    /// <summary>
    /// Builds the attempt pipeline, outermost first: an endless retry whose delays come from
    /// <see cref="ReconnectPolicy"/>; a circuit breaker that, after <see cref="BreakerThreshold"/> refusals in a row,
    /// fails attempts at once for <c>MaxRetryDelay</c> (a camera that keeps saying no is probed, not hammered); and
    /// a timeout per attempt.
    /// </summary>
    internal ResiliencePipeline<ISourceConnection> BuildConnectPipeline()
    {
        // The breaker is for cameras that answer "no" (wrong path, wrong credentials): those do not fix themselves
        // within seconds. A camera that is merely away (refused, timed out) is retried per ReconnectPolicy.
        var refusals = new PredicateBuilder<ISourceConnection>()
            .Handle<SourceException>(e => e.Error is RelayError.SourceNotFound or RelayError.SourceUnauthorized);
        return new ResiliencePipelineBuilder<ISourceConnection> { TimeProvider = _time }
            .AddRetry(new RetryStrategyOptions<ISourceConnection>
            {
                // Every failure is retried: a source that throws something unforeseen is still a camera to keep
                // trying, never a loop that ends with the stream stuck in Connecting. Only stopping ends it.
                ShouldHandle = new PredicateBuilder<ISourceConnection>().Handle<Exception>(e => e is not OperationCanceledException),
                MaxRetryAttempts = int.MaxValue,
                MaxDelay = _config.MaxRetryDelay,
                DelayGenerator = args => ValueTask.FromResult<TimeSpan?>(NextDelay(args.Outcome.Exception, args.AttemptNumber + 1)),
                OnRetry = args =>
                {
                    OnAttemptFailed(args.Outcome.Exception, args.RetryDelay, args.AttemptNumber + 1);
                    return ValueTask.CompletedTask;
                },
            })
            .AddCircuitBreaker(new CircuitBreakerStrategyOptions<ISourceConnection>
            {
                ShouldHandle = refusals,
                FailureRatio = 1.0,
                MinimumThroughput = BreakerThreshold,
                SamplingDuration = TimeSpan.FromSeconds(Math.Max(30, _config.MaxRetryDelay.TotalSeconds * 4)),
                BreakDuration = _config.MaxRetryDelay,
                OnOpened = args =>
                {
                    Log.CircuitOpened(_logger, _stream.Name, BreakerThreshold, args.BreakDuration.TotalSeconds);
                    return ValueTask.CompletedTask;
                },
            })
            .AddTimeout(_config.ConnectTimeout + TimeSpan.FromSeconds(5))
            .Build();
    }

    private TimeSpan NextDelay(Exception? exception, int failures)
    {
        var error = exception is SourceException e ? e.Error : RelayError.SourceUnreachable;
        var lastOnline = Interlocked.Read(ref _lastOnline);
        TimeSpan? sinceOnline = lastOnline == 0 ? null : _time.GetElapsedTime(lastOnline);
        return ReconnectPolicy.Delay(_config, error, failures, sinceOnline, Random.Shared.NextDouble());
    }

    private async Task RunAsync(CancellationToken cancellationToken)
    {
        using var scope = _logger.BeginScope(new Dictionary<string, object> { ["Stream"] = _stream.Name });
        var pipeline = BuildConnectPipeline();
        while (!cancellationToken.IsCancellationRequested)
        {
            ISourceConnection connection;
            try
            {
                connection = await pipeline.ExecuteAsync(ConnectOnceAsync, cancellationToken);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                break;
            }
            catch (OperationCanceledException e)
            {
                // Not ours (the retry strategy leaves cancellations alone): a failed attempt like any other.
                OnAttemptFailed(e, _config.RetryDelay, 1);
                await DelayAsync(_config.RetryDelay, cancellationToken);
                continue;
            }

            SetState(StreamState.Online);
            Log.Online(_logger, _stream.Name, _source.DisplayName);
            SourceExit exit;
            try
            {
                exit = await connection.Completion.WaitAsync(cancellationToken);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                await connection.DisposeAsync();
                break;
            }
            catch (Exception e)
            {
                exit = new SourceExit(RelayError.PipelineError, SourceUri.Scrub(e.Message, _config.Source), true);
            }

            Interlocked.Exchange(ref _lastOnline, _time.GetTimestamp());
            await connection.DisposeAsync();
            RecordEnd(exit);
            // A camera that just dropped is usually rebooting: wait the first backoff step, then try.
            await DelayAsync(_config.RetryDelay, cancellationToken);
        }

        Log.Stopped(_logger, _stream.Name);
    }

    private async Task DelayAsync(TimeSpan delay, CancellationToken cancellationToken)
    {
        try
        {
            await Task.Delay(delay, _time, cancellationToken);
        }
        catch (OperationCanceledException)
        {
            // stopping: the loop sees the cancellation
        }
    }

    private async ValueTask<ISourceConnection> ConnectOnceAsync(CancellationToken cancellationToken)
    {
        SetState(StreamState.Connecting);
        Log.Connecting(_logger, _stream.Name, _source.DisplayName);
        var started = _time.GetTimestamp();
        var connection = _source.Open(_stream);
        try
        {
            await connection.Connected.WaitAsync(cancellationToken);
            Connected?.Invoke(_time.GetElapsedTime(started));
            return connection;
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }

    private void OnAttemptFailed(Exception? exception, TimeSpan delay, int attempt)
    {
        var (error, message) = exception switch
        {
            SourceException e => (e.Error, e.Message),
            TimeoutRejectedException => (RelayError.SourceTimedOut, "the connection attempt timed out"),
            BrokenCircuitException => (_status.LastError, $"{_status.LastErrorMessage} (repeated failures; probing every {_config.MaxRetryDelay.TotalSeconds:0} s)"),
            GstException e => (RelayError.PipelineError, e.Message),
            _ => (RelayError.PipelineError, exception?.Message ?? "unknown failure"),
        };
        message = SourceUri.Scrub(message, _config.Source);
        var state = error == RelayError.SourceUnauthorized || exception is BrokenCircuitException ? StreamState.Faulted : StreamState.Backoff;
        lock (_gate)
        {
            _reasons[error] = _reasons.GetValueOrDefault(error) + 1;
            _status = _status with
            {
                State = state,
                Since = _time.GetUtcNow(),
                LastError = error,
                LastErrorMessage = message,
                LastErrorAt = _time.GetUtcNow(),
                Reconnects = _status.Reconnects + 1,
                NextAttemptIn = delay,
            };
        }

        Log.AttemptFailed(_logger, _stream.Name, attempt, error, message, delay.TotalSeconds);
        StatusChanged?.Invoke(Status);
    }

    private void RecordEnd(SourceExit exit)
    {
        lock (_gate)
        {
            _reasons[exit.Error] = _reasons.GetValueOrDefault(exit.Error) + 1;
            _status = _status with
            {
                State = StreamState.Backoff,
                Since = _time.GetUtcNow(),
                LastError = exit.Error,
                LastErrorMessage = exit.Message,
                LastErrorAt = _time.GetUtcNow(),
                Reconnects = _status.Reconnects + 1,
                NextAttemptIn = _config.RetryDelay,
            };
        }

        Log.Ended(_logger, _stream.Name, exit.Error, exit.Message);
        StatusChanged?.Invoke(Status);
    }

    private void SetState(StreamState state)
    {
        lock (_gate)
        {
            if (_status.State == state)
            {
                return;
            }

            _status = _status with { State = state, Since = _time.GetUtcNow(), NextAttemptIn = null };
        }

        StatusChanged?.Invoke(Status);
    }
}
