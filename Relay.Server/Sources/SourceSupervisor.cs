using Microsoft.Extensions.Logging;
using Polly;
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
    private readonly Stream _stream;
    private readonly ISource _source;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly StreamConfig _config;
    private readonly CancellationTokenSource _stop = new();
    private readonly Lock _gate = new();
    private SourceStatus _status; // guarded by _gate
    private Task? _loop;

    public SourceSupervisor(Stream stream, ISource source, TimeProvider time, ILogger logger)
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

    /// <summary>Builds the attempt pipeline: timeout per attempt, inside an endless retry with backoff.</summary>
    internal ResiliencePipeline<ISourceConnection> BuildConnectPipeline() =>
        new ResiliencePipelineBuilder<ISourceConnection> { TimeProvider = _time }
            .AddRetry(new RetryStrategyOptions<ISourceConnection>
            {
                ShouldHandle = new PredicateBuilder<ISourceConnection>()
                    .Handle<SourceException>()
                    .Handle<GstException>()
                    .Handle<TimeoutRejectedException>(),
                MaxRetryAttempts = int.MaxValue,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = _config.RetryDelay,
                MaxDelay = _config.MaxRetryDelay,
                DelayGenerator = args => ValueTask.FromResult<TimeSpan?>(
                    args.Outcome.Exception is SourceException { Error: RelayError.SourceUnauthorized } ? _config.MaxRetryDelay : null),
                OnRetry = args =>
                {
                    OnAttemptFailed(args.Outcome.Exception, args.RetryDelay, args.AttemptNumber + 1);
                    return ValueTask.CompletedTask;
                },
            })
            .AddTimeout(_config.ConnectTimeout + TimeSpan.FromSeconds(5))
            .Build();

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

            SetState(StreamState.Online);
            Log.Online(_logger, _stream.Name, _source.DisplayName);
            SourceExit exit;
            try
            {
                exit = await connection.Completion.WaitAsync(cancellationToken);
            }
            catch (OperationCanceledException)
            {
                await connection.DisposeAsync();
                break;
            }

            await connection.DisposeAsync();
            RecordEnd(exit);
            try
            {
                // A camera that just dropped is usually rebooting: wait the first backoff step, then try.
                await Task.Delay(_config.RetryDelay, _time, cancellationToken);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }

        Log.Stopped(_logger, _stream.Name);
    }

    private async ValueTask<ISourceConnection> ConnectOnceAsync(CancellationToken cancellationToken)
    {
        SetState(StreamState.Connecting);
        Log.Connecting(_logger, _stream.Name, _source.DisplayName);
        var connection = _source.Open(_stream);
        try
        {
            await connection.Connected.WaitAsync(cancellationToken);
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
            GstException e => (RelayError.PipelineError, e.Message),
            _ => (RelayError.PipelineError, exception?.Message ?? "unknown failure"),
        };
        message = SourceUri.Scrub(message, _config.Source);
        var state = error == RelayError.SourceUnauthorized ? StreamState.Faulted : StreamState.Backoff;
        lock (_gate)
        {
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
