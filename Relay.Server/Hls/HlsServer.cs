using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Relay.Configuration;
using Relay.Server.Streams;

namespace Relay.Server.Hls;

/// <summary>
/// The running HLS muxers, one per stream that players request: started by the first request, holding a lease on
/// the stream (so an on-demand camera is pulled while someone watches), stopped <see cref="HlsConfig.IdleTimeout"/>
/// after the last request, and dropped when their stream goes away.
/// </summary>
internal sealed partial class HlsServer : IHostedService, IAsyncDisposable
{
    private readonly Dictionary<StreamHub, Running> _muxers = []; // guarded by itself
    private readonly Dictionary<string, long> _bytesOfStopped = new(StringComparer.OrdinalIgnoreCase); // guarded by _muxers
    private readonly TimeProvider _time;
    private readonly ILoggerFactory _loggers;
    private readonly ILogger _logger;
    private ITimer? _timer;
    private bool _stopping; // guarded by _muxers

    public HlsServer(RelayConfig config, TimeProvider time, ILoggerFactory loggers, IHostApplicationLifetime lifetime)
    {
        Config = config.Hls;
        _time = time;
        _loggers = loggers;
        _logger = loggers.CreateLogger<HlsServer>();

        // Blocked playlist and part requests end at once when stopping begins, instead of holding Kestrel's graceful stop.
        lifetime.ApplicationStopping.Register(() => StopAsync(CancellationToken.None));
    }

    public HlsConfig Config { get; }

    /// <summary>Gets the running muxers.</summary>
    public IReadOnlyList<HlsMuxer> Muxers
    {
        get
        {
            lock (_muxers)
            {
                return [.. _muxers.Values.Select(r => r.Muxer)];
            }
        }
    }

    /// <summary>An HLS player (which has no session) counts as a reader while it made a request within this window.</summary>
    public static readonly TimeSpan ViewerWindow = TimeSpan.FromSeconds(10);

    /// <summary>Gets the stream's muxer, starting one (at the stream's cached GOP) if none runs.</summary>
    public HlsMuxer GetOrStart(StreamHub stream)
    {
        lock (_muxers)
        {
            if (_muxers.TryGetValue(stream, out var running) && !running.Muxer.IsEnded)
            {
                running.Muxer.Touch();
                return running.Muxer;
            }

            if (running is not null)
            {
                Stop(running);
                _muxers.Remove(stream);
            }

            if (_stopping)
            {
                throw new OperationCanceledException("The relay is shutting down.");
            }

            var muxer = new HlsMuxer(stream, Config, _time, _loggers.CreateLogger($"Relay.Stream.{stream.Name}"));
            var lease = stream.Lease();
            try
            {
                stream.Subscribe(muxer, StartAt.Keyframe);
            }
            catch
            {
                lease.Dispose();
                throw;
            }

            _muxers[stream] = new Running(muxer, lease);
            Log.Started(_logger, stream.Name);
            return muxer;
        }
    }

    /// <summary>Gets the bytes sent to HLS players of the stream named <paramref name="name"/> since start.</summary>
    public long BytesSent(string name)
    {
        lock (_muxers)
        {
            return _bytesOfStopped.GetValueOrDefault(name)
                + _muxers.Values.Where(r => string.Equals(r.Muxer.Stream.Name, name, StringComparison.OrdinalIgnoreCase)).Sum(r => r.Muxer.BytesSent);
        }
    }

    /// <summary>Gets the stream's muxer when one runs.</summary>
    public HlsMuxer? Find(StreamHub stream)
    {
        lock (_muxers)
        {
            return _muxers.TryGetValue(stream, out var running) && !running.Muxer.IsEnded ? running.Muxer : null;
        }
    }

    /// <inheritdoc />
    public Task StartAsync(CancellationToken cancellationToken)
    {
        var period = TimeSpan.FromTicks(Math.Clamp(Config.IdleTimeout.Ticks / 4, TimeSpan.TicksPerSecond / 4, TimeSpan.TicksPerSecond * 5));
        _timer = _time.CreateTimer(_ => StopIdle(), null, period, period);
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public Task StopAsync(CancellationToken cancellationToken)
    {
        _timer?.Dispose();
        lock (_muxers)
        {
            _stopping = true;
            foreach (var running in _muxers.Values)
            {
                Stop(running);
            }

            _muxers.Clear();
        }

        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync() => await StopAsync(CancellationToken.None);

    private void StopIdle()
    {
        try
        {
            lock (_muxers)
            {
                foreach (var (stream, running) in _muxers.Where(m => m.Value.Muxer.IsEnded || m.Value.Muxer.IdleFor > Config.IdleTimeout).ToList())
                {
                    _muxers.Remove(stream);
                    Stop(running);
                    Log.Stopped(_logger, stream.Name, running.Muxer.IsEnded ? "the stream was removed" : "no request for the idle timeout");
                }
            }
        }
        catch (Exception e)
        {
            Log.IdleCheckFailed(_logger, e);
        }
    }

    private void Stop(Running running)
    {
        running.Muxer.Dispose();
        running.Lease.Dispose();
        var name = running.Muxer.Stream.Name;
        _bytesOfStopped[name] = _bytesOfStopped.GetValueOrDefault(name) + running.Muxer.BytesSent;
    }

    private sealed record Running(HlsMuxer Muxer, IDisposable Lease);

    private static partial class Log
    {
        [LoggerMessage(EventIds.HlsStarted, LogLevel.Information, "Stream {Stream}: HLS muxing started.")]
        public static partial void Started(ILogger logger, string stream);

        [LoggerMessage(EventIds.HlsStopped, LogLevel.Information, "Stream {Stream}: HLS muxing stopped ({Reason}).")]
        public static partial void Stopped(ILogger logger, string stream, string reason);

        [LoggerMessage(EventIds.HlsIdleCheckFailed, LogLevel.Error, "Stopping idle HLS muxers failed.")]
        public static partial void IdleCheckFailed(ILogger logger, Exception exception);
    }
}
