using System.Collections.Concurrent;
using System.Globalization;
using Microsoft.Extensions.Logging;
using Relay.Configuration;
using Relay.Media;
using Relay.Server.Streams;

namespace Relay.Server.Mjpeg;

/// <summary>A JPEG picture of a stream's keyframe.</summary>
/// <param name="Jpeg">The picture.</param>
/// <param name="KeyframeDts">The keyframe's decoding time on the stream timeline (which picture it is).</param>
/// <param name="LastModified">When the keyframe arrived.</param>
/// <param name="ETag">An entity tag that changes with the keyframe and the size.</param>
/// <param name="Taken">When the picture was last known to be the latest (a monotonic timestamp).</param>
internal sealed record Snapshot(byte[] Jpeg, TimeSpan KeyframeDts, DateTimeOffset LastModified, string ETag, long Taken);

/// <summary>
/// Snapshots: the GOP cache's keyframe (no waiting for the next one), decoded and scaled by GStreamer. A picture is
/// reused for <see cref="MjpegConfig.SnapshotMaxAge"/>, and after that for as long as no newer keyframe arrived;
/// concurrent requests for the same stream and width share one decode.
/// </summary>
internal sealed partial class SnapshotService
{
    private const int MaxCached = 256;
    private static readonly TimeSpan KeyframeWait = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan DecodeTimeout = TimeSpan.FromSeconds(5);

    private readonly ConcurrentDictionary<(StreamHub, int?), Snapshot> _cache = new();
    private readonly ConcurrentDictionary<(StreamHub, int?), Lazy<Task<Snapshot?>>> _taking = new();
    private readonly MjpegConfig _config;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;

    public SnapshotService(RelayConfig config, TimeProvider time, ILogger<SnapshotService> logger)
    {
        _config = config.Mjpeg;
        _time = time;
        _logger = logger;
    }

    /// <summary>Gets a snapshot of <paramref name="stream"/> <paramref name="width"/> pixels wide (null: the stream's own size).</summary>
    /// <returns>The snapshot, or null when the stream has had no keyframe in time.</returns>
    public async Task<Snapshot?> GetAsync(StreamHub stream, int? width, CancellationToken cancellationToken)
    {
        var key = (stream, width);
        if (_cache.TryGetValue(key, out var cached) && _time.GetElapsedTime(cached.Taken) < _config.SnapshotMaxAge)
        {
            return cached;
        }

        var taking = _taking.GetOrAdd(key, k => new Lazy<Task<Snapshot?>>(() => TakeAsync(k.Item1, k.Item2)));
        try
        {
            return await taking.Value.WaitAsync(cancellationToken);
        }
        finally
        {
            if (taking.Value.IsCompleted)
            {
                _taking.TryRemove(KeyValuePair.Create(key, taking));
            }
        }
    }

    private async Task<Snapshot?> TakeAsync(StreamHub stream, int? width)
    {
        await Task.Yield(); // never decode on the caller's stack (it may be inside the dictionary's factory)
        using var lease = stream.Lease(); // an on-demand camera is pulled for the picture
        var keyframe = await KeyframeTap.TakeAsync(stream, KeyframeWait, _time, CancellationToken.None);
        if (keyframe is null)
        {
            return null;
        }

        try
        {
            var key = (stream, width);
            if (_cache.TryGetValue(key, out var cached) && cached.KeyframeDts == keyframe.Unit.Dts)
            {
                // No newer keyframe since the last picture: it is still the latest.
                return _cache[key] = cached with { Taken = _time.GetTimestamp() };
            }

            var (w, h) = JpegPipeline.Size(keyframe.Track, width);
            var jpeg = await DecodeAsync(stream, keyframe, w, h);
            if (jpeg is null)
            {
                return null;
            }

            var snapshot = new Snapshot(
                jpeg,
                keyframe.Unit.Dts,
                stream.TimelineOrigin + keyframe.Unit.Dts,
                string.Create(CultureInfo.InvariantCulture, $"\"{keyframe.Unit.Dts.Ticks:x}-{w}x{h}\""),
                _time.GetTimestamp());
            if (_cache.Count >= MaxCached)
            {
                _cache.Clear(); // widths are chosen by clients: keep the cache bounded
            }

            _cache[key] = snapshot;
            return snapshot;
        }
        finally
        {
            keyframe.Unit.Release();
        }
    }

    private async Task<byte[]?> DecodeAsync(StreamHub stream, Keyframe keyframe, int width, int height)
    {
        var picture = new TaskCompletionSource<byte[]>(TaskCreationOptions.RunContinuationsAsynchronously);
        JpegPipeline pipeline;
        try
        {
            pipeline = JpegPipeline.Start(keyframe.Track, width, height, maxFps: null, _config.Quality, (jpeg, _) => picture.TrySetResult(jpeg), error => picture.TrySetException(new InvalidOperationException(error)));
        }
        catch (GStreamer.GstException e)
        {
            Log.Failed(_logger, stream.Name, e.Message);
            return null;
        }

        RefreshFeeder? feeder = null;
        try
        {
            if (JpegPipeline.DecodesAlone(keyframe.Track, keyframe.Unit))
            {
                pipeline.Push(keyframe.Unit);
                pipeline.EndOfStream();
            }
            else
            {
                // A recovery point: the frames after it (cached, then live) go in until the decoder has a whole picture.
                var subscriber = new RefreshFeeder(pipeline, keyframe.Unit.Dts);
                stream.Subscribe(subscriber, StartAt.Keyframe); // throws when the stream was removed
                feeder = subscriber;
            }

            return await picture.Task.WaitAsync(DecodeTimeout, _time);
        }
        catch (Exception e) when (e is TimeoutException or InvalidOperationException or ObjectDisposedException)
        {
            Log.Failed(_logger, stream.Name, e.Message);
            return null;
        }
        finally
        {
            if (feeder is not null)
            {
                stream.Unsubscribe(feeder); // no unit is pushed after this
            }

            // Stopping joins the pipeline's threads: off the streaming thread that completed the task.
            await Task.Run(pipeline.Dispose);
        }
    }

    /// <summary>
    /// Pushes a stream's video frames into a snapshot's decoder from the keyframe at or after a time, under the
    /// stream's lock as they come (the cached GOP first). At most <see cref="MaxUnits"/>: the decode timeout ends a
    /// longer wait anyway.
    /// </summary>
    private sealed class RefreshFeeder(JpegPipeline pipeline, TimeSpan from) : IStreamSubscriber
    {
        private const int MaxUnits = 600;
        private int _anchor = -1;
        private int _pushed;
        private bool _started;

        public void OnAttached(IReadOnlyList<TrackInfo> tracks, int anchorTrack, IReadOnlyList<AccessUnit> gop)
        {
            _anchor = anchorTrack;
            foreach (var unit in gop)
            {
                Feed(unit);
            }
        }

        public void OnAccessUnit(AccessUnit unit) => Feed(unit);

        public void OnTracksChanged(IReadOnlyList<TrackInfo> tracks, int anchorTrack, bool codecChanged)
        {
            _anchor = anchorTrack;
            if (codecChanged)
            {
                _pushed = MaxUnits; // the decoder was made for the old codec
            }
        }

        public void OnDetached()
        {
        }

        private void Feed(AccessUnit unit)
        {
            if (unit.TrackIndex != _anchor || _pushed >= MaxUnits)
            {
                return;
            }

            if (!_started)
            {
                if (!unit.IsKeyframe || unit.Dts < from)
                {
                    return;
                }

                _started = true;
            }

            _pushed = pipeline.Push(unit) ? _pushed + 1 : MaxUnits;
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventIds.JpegPipelineFailed, LogLevel.Warning, "Stream {Stream}: a snapshot could not be decoded: {Reason}")]
        public static partial void Failed(ILogger logger, string stream, string reason);
    }
}
