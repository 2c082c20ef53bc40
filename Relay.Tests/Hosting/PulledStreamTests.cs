using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Relay.Configuration;
using Relay.Media;
using Relay.Server;
using Relay.Server.Hosting;
using Relay.Server.Sources;
using Relay.Tests.Fixtures;

namespace Relay.Tests.Hosting;

/// <summary>An on-demand stream's start and idle stop, on fake time, with a source that stays online (no GStreamer).</summary>
public sealed class PulledStreamTests
{
    private static readonly TimeSpan Settle = TimeSpan.FromSeconds(5);

    [Fact]
    public async Task A_lease_taken_as_the_idle_stop_begins_keeps_the_camera_pulled()
    {
        // A reader arrives exactly when the idle stop has decided to stop (as it logs so): the window in which an
        // unordered check-then-stop would leave the reader holding a stream that nothing pulls.
        var time = new FakeTimeProvider();
        var config = new StreamConfig { Name = "cam", Source = new Uri("rtsp://h/x"), OnDemand = true, IdleTimeout = TimeSpan.FromSeconds(10) };
        IDisposable? lateReader = null;
        PulledStream? pulled = null;
        var logger = new HookLogger(EventIds.StreamRestarted + 1, () => lateReader = pulled!.Hub.Lease());
        await using (pulled = new PulledStream(config, new OnlineSources(), time, logger))
        {
            await pulled.StartAsync();
            var first = pulled.Hub.Lease();
            await Eventually.WaitAsync(() => pulled.IsPulling, Settle, "the camera to be pulled");
            first.Dispose();

            time.Advance(config.IdleTimeout);
            await Eventually.WaitAsync(() => lateReader is not null, Settle, "the idle stop to begin");

            await Eventually.WaitAsync(() => pulled.IsPulling, Settle, "the camera to be pulled for the late reader");
            lateReader!.Dispose();
        }
    }

    [Fact]
    public async Task A_reader_that_leaves_before_the_camera_is_pulled_still_lets_it_stop_when_idle()
    {
        var time = new FakeTimeProvider();
        var config = new StreamConfig { Name = "cam", Source = new Uri("rtsp://h/x"), OnDemand = true, IdleTimeout = TimeSpan.FromSeconds(10) };
        await using var pulled = new PulledStream(config, new OnlineSources(), time, NullLogger.Instance);
        await pulled.StartAsync();

        // The lease is gone before the start it asked for has run: the start must still arm the idle stop.
        pulled.Hub.Lease().Dispose();
        await Eventually.WaitAsync(() => pulled.IsPulling, Settle, "the camera to be pulled");
        time.Advance(config.IdleTimeout);

        await Eventually.WaitAsync(() => !pulled.IsPulling, Settle, "the idle camera to be stopped");
    }

    /// <summary>A logger that runs an action when a given event is logged.</summary>
    private sealed class HookLogger(int eventId, Action action) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId id, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (id.Id == eventId)
            {
                action();
            }
        }
    }

    private sealed class OnlineSources : ISourceFactory
    {
        public ISource Create(StreamConfig config, ILogger logger) => new OnlineSource();
    }

    private sealed class OnlineSource : ISource
    {
        public string DisplayName => "online";

        public ISourceConnection Open(IMediaSink sink) => new OnlineConnection();
    }

    private sealed class OnlineConnection : ISourceConnection
    {
        private readonly TaskCompletionSource<SourceExit> _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task Connected => Task.CompletedTask;

        public Task<SourceExit> Completion => _completion.Task;

        public ValueTask DisposeAsync()
        {
            _completion.TrySetResult(new SourceExit(RelayError.None, "stopped", true));
            return ValueTask.CompletedTask;
        }
    }
}
