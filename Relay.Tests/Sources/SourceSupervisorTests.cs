using System.Threading.Channels;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Relay.Configuration;
using Relay.Media;
using Relay.Server.Sources;
using Relay.Tests.Streams;

namespace Relay.Tests.Sources;

/// <summary>The supervisor's policy, on fake time, with a scripted source (no GStreamer).</summary>
public sealed class SourceSupervisorTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);
    private readonly FakeTimeProvider _time = new();

    [Fact]
    public async Task Failed_attempts_are_retried_with_growing_delays()
    {
        var source = new ScriptedSource(_ => ScriptedSource.Fail(RelayError.SourceUnreachable));
        var (supervisor, statuses) = Start(source);
        await using var _ = supervisor;

        var delays = new List<TimeSpan>();
        for (var i = 0; i < 6; i++)
        {
            var status = await NextAsync(statuses, s => s.State == StreamState.Backoff);
            delays.Add(status.NextAttemptIn!.Value);
            _time.Advance(status.NextAttemptIn.Value);
        }

        await source.WaitForAttemptsAsync(7, Wait);
        Assert.All(delays.Zip([0.5, 1, 2, 4, 8, 16]), p => Assert.InRange(p.First.TotalSeconds, p.Second * 0.8, p.Second * 1.2));
        Assert.InRange(supervisor.Status.Reconnects, 6, 7); // the 7th attempt may have failed already
        Assert.Equal(RelayError.SourceUnreachable, supervisor.Status.LastError);
    }

    [Fact]
    public async Task Wrong_credentials_fault_the_stream_and_are_retried_slowly()
    {
        var source = new ScriptedSource(_ => ScriptedSource.Fail(RelayError.SourceUnauthorized));
        var (supervisor, statuses) = Start(source);
        await using var _ = supervisor;

        var first = await NextAsync(statuses, s => s.State == StreamState.Faulted);
        _time.Advance(TimeSpan.FromSeconds(29));
        await Task.Yield();
        var attemptsBeforeDelay = source.Attempts;
        _time.Advance(TimeSpan.FromSeconds(1));
        await source.WaitForAttemptsAsync(2, Wait);

        Assert.Equal(TimeSpan.FromSeconds(30), first.NextAttemptIn);
        Assert.Equal(1, attemptsBeforeDelay);
        Assert.Equal(RelayError.SourceUnauthorized, first.LastError);
    }

    [Fact]
    public async Task Repeated_refusals_open_the_circuit_and_pause_attempts()
    {
        var source = new ScriptedSource(_ => ScriptedSource.Fail(RelayError.SourceNotFound));
        var config = new StreamConfig { Name = "cam1", Source = new Uri("rtsp://h/x"), RetryDelay = TimeSpan.FromSeconds(1), MaxRetryDelay = TimeSpan.FromSeconds(60) };
        var (supervisor, statuses) = Start(source, config);
        await using var _ = supervisor;

        for (var i = 0; i < SourceSupervisor.BreakerThreshold; i++)
        {
            var status = await NextAsync(statuses, s => s.State is StreamState.Backoff or StreamState.Faulted);
            _time.Advance(status.NextAttemptIn!.Value);
        }

        // The circuit is open: the next attempt fails at once, without reaching the camera.
        var broken = await NextAsync(statuses, s => s.State == StreamState.Faulted);
        Assert.Equal(SourceSupervisor.BreakerThreshold, source.Attempts);
        Assert.Contains("repeated failures", broken.LastErrorMessage, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_camera_that_drops_is_reconnected_and_counted()
    {
        var online = new ScriptedSource.OnlineConnection();
        var source = new ScriptedSource(n => n == 0 ? online : ScriptedSource.Fail(RelayError.SourceUnreachable));
        var (supervisor, statuses) = Start(source);
        await using var _ = supervisor;
        await NextAsync(statuses, s => s.State == StreamState.Online);

        online.End(RelayError.SourceStalled, "no media for 5 s");
        var ended = await NextAsync(statuses, s => s.State == StreamState.Backoff);
        _time.Advance(TimeSpan.FromSeconds(0.5));
        var retry = await NextAsync(statuses, s => s.State == StreamState.Backoff);

        Assert.Equal(RelayError.SourceStalled, ended.LastError);
        Assert.InRange(retry.NextAttemptIn!.Value.TotalSeconds, 0.4, 0.6); // rebooting camera: quick retries
        Assert.Equal(2, supervisor.Status.Reconnects);
    }

    [Fact]
    public async Task An_unexpected_exception_from_a_source_is_retried_like_any_failure()
    {
        // A bug in a source (or a library under it) must not end the supervisor's loop with the stream stuck in Connecting.
        var online = new ScriptedSource.OnlineConnection();
        var source = new ScriptedSource(n => n switch
        {
            0 => throw new InvalidOperationException("thrown while opening"),
            1 => ScriptedSource.Throwing(new ArgumentException("thrown while connecting")),
            2 => ScriptedSource.Throwing(new OperationCanceledException("cancelled by something else than stopping")),
            _ => online,
        });
        var (supervisor, statuses) = Start(source);
        await using var _ = supervisor;

        var failures = new List<SourceStatus>();
        for (var i = 0; i < 3; i++)
        {
            var status = await NextAsync(statuses, s => s.State == StreamState.Backoff);
            failures.Add(status);
            _time.Advance(status.NextAttemptIn!.Value);
        }

        await NextAsync(statuses, s => s.State == StreamState.Online);
        Assert.Equal(4, source.Attempts);
        Assert.Equal(["thrown while opening", "thrown while connecting", "cancelled by something else than stopping"], failures.Select(f => f.LastErrorMessage));
    }

    private (SourceSupervisor Supervisor, ChannelReader<SourceStatus> Statuses) Start(ScriptedSource source, StreamConfig? config = null)
    {
        config ??= new StreamConfig { Name = "cam1", Source = new Uri("rtsp://h/x") };
        var stream = StreamTestKit.CreateStream(_time, config);
        var supervisor = new SourceSupervisor(stream, source, _time, NullLogger.Instance);
        var statuses = Channel.CreateUnbounded<SourceStatus>();
        supervisor.StatusChanged += s => statuses.Writer.TryWrite(s);
        supervisor.Start();
        return (supervisor, statuses.Reader);
    }

    private static async Task<SourceStatus> NextAsync(ChannelReader<SourceStatus> statuses, Func<SourceStatus, bool> match)
    {
        using var cts = new CancellationTokenSource(Wait);
        while (true)
        {
            var status = await statuses.ReadAsync(cts.Token);
            if (match(status))
            {
                return status;
            }
        }
    }

    /// <summary>A source whose every connection attempt does what the test says.</summary>
    private sealed class ScriptedSource(Func<int, ISourceConnection> script) : ISource
    {
        private int _attempts;

        public string DisplayName => "scripted";

        public int Attempts => Volatile.Read(ref _attempts);

        public static ISourceConnection Fail(RelayError error) => new FailedConnection(new SourceException(error, $"scripted {error}"));

        public static ISourceConnection Throwing(Exception exception) => new ThrowingConnection(exception);

        public ISourceConnection Open(IMediaSink sink) => script(Interlocked.Increment(ref _attempts) - 1);

        public Task WaitForAttemptsAsync(int count, TimeSpan timeout) =>
            Fixtures.Eventually.WaitAsync(() => Attempts >= count, timeout, $"{count} attempts");

        private sealed class FailedConnection(SourceException error) : ISourceConnection
        {
            public Task Connected { get; } = Task.FromException(error);

            public Task<SourceExit> Completion { get; } = Task.FromResult(new SourceExit(error.Error, error.Message, false));

            public ValueTask DisposeAsync() => ValueTask.CompletedTask;
        }

        private sealed class ThrowingConnection(Exception exception) : ISourceConnection
        {
            public Task Connected { get; } = Task.FromException(exception);

            public Task<SourceExit> Completion { get; } = Task.FromException<SourceExit>(exception);

            public ValueTask DisposeAsync() => ValueTask.CompletedTask;
        }

        public sealed class OnlineConnection : ISourceConnection
        {
            private readonly TaskCompletionSource<SourceExit> _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);

            public Task Connected => Task.CompletedTask;

            public Task<SourceExit> Completion => _completion.Task;

            public void End(RelayError error, string message) => _completion.TrySetResult(new SourceExit(error, message, true));

            public ValueTask DisposeAsync()
            {
                _completion.TrySetResult(new SourceExit(RelayError.None, "stopped", true));
                return ValueTask.CompletedTask;
            }
        }
    }
}
