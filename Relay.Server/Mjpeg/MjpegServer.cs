using System.Net;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Relay.Configuration;
using Relay.Server.Streams;

namespace Relay.Server.Mjpeg;

/// <summary>
/// The running MJPEG feeds, one per (stream, width, frame rate): started by the first viewer, kept a few seconds
/// after the last one leaves (a page reload does not restart the decoder), and limited to
/// <see cref="MjpegConfig.MaxViewers"/> viewers in all.
/// </summary>
internal sealed partial class MjpegServer : IHostedService, IAsyncDisposable
{
    private static readonly TimeSpan Linger = TimeSpan.FromSeconds(5);

    private readonly Dictionary<(StreamHub Stream, int? Width, int Fps), MjpegFeed> _feeds = []; // guarded by itself
    private readonly TimeProvider _time;
    private readonly ILoggerFactory _loggers;
    private readonly ILogger _logger;
    private readonly Dictionary<string, (long Bytes, long Skipped)> _ofLeftViewers = new(StringComparer.OrdinalIgnoreCase); // guarded by _feeds
    private int _viewers;
    private bool _stopping; // guarded by _feeds
    private ITimer? _timer;

    public MjpegServer(RelayConfig config, TimeProvider time, ILoggerFactory loggers, IHostApplicationLifetime lifetime)
    {
        Config = config.Mjpeg;
        _time = time;
        _loggers = loggers;
        _logger = loggers.CreateLogger<MjpegServer>();

        // Viewers' responses never end by themselves: end them when stopping begins, or Kestrel's graceful stop waits
        // its whole timeout for them.
        lifetime.ApplicationStopping.Register(() => _ = StopAsync(CancellationToken.None));
    }

    public MjpegConfig Config { get; }

    /// <summary>Gets the running feeds.</summary>
    public IReadOnlyList<MjpegFeed> Feeds
    {
        get
        {
            lock (_feeds)
            {
                return [.. _feeds.Values];
            }
        }
    }

    /// <summary>Adds a viewer of <paramref name="stream"/>, starting its feed if needed.</summary>
    /// <returns>The feed and the viewer; null when <see cref="MjpegConfig.MaxViewers"/> viewers already watch.</returns>
    public (MjpegFeed Feed, MjpegViewer Viewer)? Join(StreamHub stream, int? width, int fps, IPAddress? address)
    {
        lock (_feeds)
        {
            if (_viewers >= Config.MaxViewers || _stopping)
            {
                return null;
            }

            var key = (stream, width, fps);
            if (!_feeds.TryGetValue(key, out var feed) || feed.IsEnded)
            {
                feed = new MjpegFeed(stream, width, fps, Config, _time, _loggers.CreateLogger($"Relay.Stream.{stream.Name}"));
                _feeds[key] = feed;
                Log.FeedStarted(_logger, stream.Name, width?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "full", fps);
            }

            _viewers++;
            return (feed, feed.Join(address));
        }
    }

    /// <summary>Removes a viewer.</summary>
    public void Leave(MjpegFeed feed, MjpegViewer viewer)
    {
        lock (_feeds)
        {
            _viewers--;
            feed.Leave(viewer);
            var (bytes, skipped) = _ofLeftViewers.GetValueOrDefault(feed.Stream.Name);
            _ofLeftViewers[feed.Stream.Name] = (bytes + viewer.BytesSent, skipped + viewer.Skipped);
        }
    }

    /// <summary>Gets the bytes sent to, and pictures skipped for, MJPEG viewers of the stream named <paramref name="name"/> since start.</summary>
    public (long Bytes, long Skipped) Totals(string name)
    {
        lock (_feeds)
        {
            var (bytes, skipped) = _ofLeftViewers.GetValueOrDefault(name);
            foreach (var viewer in _feeds.Values.Where(f => string.Equals(f.Stream.Name, name, StringComparison.OrdinalIgnoreCase)).SelectMany(f => f.Viewers))
            {
                bytes += viewer.BytesSent;
                skipped += viewer.Skipped;
            }

            return (bytes, skipped);
        }
    }

    /// <summary>Gets the viewers of the stream named <paramref name="name"/>.</summary>
    public IReadOnlyList<MjpegViewer> ViewersOf(string name)
    {
        lock (_feeds)
        {
            return [.. _feeds.Values.Where(f => string.Equals(f.Stream.Name, name, StringComparison.OrdinalIgnoreCase)).SelectMany(f => f.Viewers)];
        }
    }

    /// <inheritdoc />
    public Task StartAsync(CancellationToken cancellationToken)
    {
        _timer = _time.CreateTimer(_ => _ = StopUnwatchedAsync(), null, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1));
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        _timer?.Dispose();
        MjpegFeed[] feeds;
        lock (_feeds)
        {
            _stopping = true;
            feeds = [.. _feeds.Values];
            _feeds.Clear();
        }

        // Ending the feeds ends every viewer's response, so Kestrel's graceful stop does not wait for them.
        await Task.WhenAll(feeds.Select(f => f.DisposeAsync().AsTask()));
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync() => await StopAsync(CancellationToken.None);

    private async Task StopUnwatchedAsync()
    {
        try
        {
            List<MjpegFeed> stopped;
            lock (_feeds)
            {
                stopped = [.. _feeds.Values.Where(f => f.IsEnded || f.EmptyFor > Linger)];
                foreach (var feed in stopped)
                {
                    _feeds.Remove(_feeds.First(p => p.Value == feed).Key);
                }
            }

            foreach (var feed in stopped)
            {
                await feed.DisposeAsync();
                Log.FeedStopped(_logger, feed.Stream.Name, feed.Pictures);
            }
        }
        catch (Exception e)
        {
            Log.HousekeepingFailed(_logger, e);
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventIds.MjpegFeedStarted, LogLevel.Information, "Stream {Stream}: MJPEG decoding started (width {Width}, {Fps} fps).")]
        public static partial void FeedStarted(ILogger logger, string stream, string width, int fps);

        [LoggerMessage(EventIds.MjpegFeedStopped, LogLevel.Information, "Stream {Stream}: MJPEG decoding stopped after {Pictures} pictures (no viewer).")]
        public static partial void FeedStopped(ILogger logger, string stream, long pictures);

        [LoggerMessage(EventIds.MjpegHousekeepingFailed, LogLevel.Error, "Stopping unwatched MJPEG feeds failed.")]
        public static partial void HousekeepingFailed(ILogger logger, Exception exception);
    }
}
