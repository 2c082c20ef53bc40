using System.Net;
using Microsoft.Extensions.Logging;
using Relay.Configuration;
using Relay.Media;
using Relay.Server.Streams;

namespace Relay.Server.Mjpeg;

/// <summary>
/// One stream decoded to JPEG at one width and frame rate, shared by all its viewers. When the requested rate is
/// no higher than the camera's keyframe rate, only keyframes are decoded (each stands alone); otherwise every
/// frame is decoded and GStreamer's videorate keeps one picture per 1/fps. A decoder that falls behind skips to the
/// next keyframe. The feed holds a lease on the stream while it runs, so an on-demand camera is pulled.
/// </summary>
internal sealed partial class MjpegFeed : IAsyncDisposable
{
    private const long MaxQueuedBytes = 4 * 1024 * 1024;

    private readonly Lock _gate = new();
    private readonly StreamHub _stream;
    private readonly int? _width;
    private readonly int _fps;
    private readonly MjpegConfig _config;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stop = new();
    private readonly IDisposable _lease;
    private readonly Task _loop;
    private MjpegViewer[] _viewers = []; // guarded by _gate; copy-on-write
    private byte[]? _last; // guarded by _gate: the newest picture, given to a viewer that joins
    private long _emptySince; // guarded by _gate: when the last viewer left (0 while someone watches)
    private long _ended;
    private long _droppedInput;
    private long _pictures;

    // Used by the feeding loop only.
    private JpegPipeline? _pipeline;
    private (Codec Codec, int Width, int Height) _shape;
    private bool _synced;
    private bool _keyframesOnly;
    private TimeSpan _nextDue = TimeSpan.MinValue;
    private long _lastErrorLog;

    public MjpegFeed(StreamHub stream, int? width, int fps, MjpegConfig config, TimeProvider time, ILogger logger)
    {
        _stream = stream;
        _width = width;
        _fps = fps;
        _config = config;
        _time = time;
        _logger = logger;
        _emptySince = time.GetTimestamp();
        _lease = stream.Lease();
        _loop = Task.Run(RunAsync);
    }

    /// <summary>Gets the stream.</summary>
    public StreamHub Stream => _stream;

    /// <summary>Gets the viewers.</summary>
    public IReadOnlyList<MjpegViewer> Viewers => Volatile.Read(ref _viewers);

    /// <summary>Gets a value indicating whether the feed stopped (its stream went away).</summary>
    public bool IsEnded => Interlocked.Read(ref _ended) != 0;

    /// <summary>Gets how long the feed has had no viewer (zero while someone watches).</summary>
    public TimeSpan EmptyFor
    {
        get
        {
            lock (_gate)
            {
                return _viewers.Length > 0 ? TimeSpan.Zero : _time.GetElapsedTime(_emptySince);
            }
        }
    }

    /// <summary>Gets the pictures made so far.</summary>
    public long Pictures => Interlocked.Read(ref _pictures);

    /// <summary>Gets the frames not decoded because the decoder fell behind.</summary>
    public long DroppedInput => Interlocked.Read(ref _droppedInput);

    /// <summary>Adds a viewer; it gets the newest picture at once.</summary>
    public MjpegViewer Join(IPAddress? address)
    {
        var viewer = new MjpegViewer(address, _time.GetUtcNow());
        lock (_gate)
        {
            _viewers = [.. _viewers, viewer];
            if (_last is not null)
            {
                viewer.Offer(_last);
            }

            if (IsEnded)
            {
                viewer.Complete();
            }
        }

        return viewer;
    }

    /// <summary>Removes a viewer.</summary>
    public void Leave(MjpegViewer viewer)
    {
        lock (_gate)
        {
            _viewers = [.. _viewers.Where(v => v != viewer)];
            if (_viewers.Length == 0)
            {
                _emptySince = _time.GetTimestamp();
            }
        }
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _loop;
        _lease.Dispose();
        _stop.Dispose();
    }

    private async Task RunAsync()
    {
        try
        {
            while (!_stop.IsCancellationRequested)
            {
                AccessUnitReader reader;
                try
                {
                    reader = _stream.OpenReader(StartAt.Keyframe);
                }
                catch (ObjectDisposedException)
                {
                    return; // the stream was removed
                }

                using (reader)
                {
                    try
                    {
                        while (await reader.ReadAsync(_stop.Token) is { } unit)
                        {
                            try
                            {
                                Feed(unit, reader.Tracks);
                            }
                            finally
                            {
                                unit.Release();
                            }
                        }

                        return; // the stream went away
                    }
                    catch (Exception e) when (e is ReaderTooSlowException or StreamEndedException)
                    {
                        _synced = false; // start again at the next keyframe
                    }
                }
            }
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested)
        {
        }
        finally
        {
            _pipeline?.Dispose();
            _pipeline = null;
            Interlocked.Exchange(ref _ended, 1);
            lock (_gate)
            {
                foreach (var viewer in _viewers)
                {
                    viewer.Complete();
                }
            }
        }
    }

    private void Feed(AccessUnit unit, IReadOnlyList<TrackInfo> tracks)
    {
        var anchor = -1;
        for (var i = 0; i < tracks.Count && anchor < 0; i++)
        {
            anchor = JpegPipeline.CanDecode(tracks[i]) ? i : -1;
        }

        if (unit.TrackIndex != anchor)
        {
            return;
        }

        if (unit.IsKeyframe)
        {
            var track = tracks[anchor];
            var (width, height) = JpegPipeline.Size(track, _width);
            if (_pipeline is null || _pipeline.IsFailed || _shape != (track.Codec, width, height))
            {
                _pipeline?.Dispose();
                _pipeline = null;
                _pipeline = JpegPipeline.Start(track, width, height, _fps, _config.Quality, OnPicture, OnError);
                _shape = (track.Codec, width, height);
            }

            // Keyframes alone are enough when they come at least as often as pictures are wanted, and each decodes
            // to a whole picture (an intra-refresh camera's recovery points need the frames after them).
            var interval = _stream.Statistics.KeyframeInterval.TotalSeconds;
            _keyframesOnly = interval > 0 && _fps * interval <= 1.05 && JpegPipeline.DecodesAlone(track, unit);
            _synced = true;
            if (_keyframesOnly)
            {
                if (unit.Pts < _nextDue)
                {
                    return;
                }

                _nextDue = unit.Pts + TimeSpan.FromSeconds(0.9 / _fps);
            }
        }
        else if (!_synced || _keyframesOnly)
        {
            return;
        }

        if (_pipeline is null || _pipeline.QueuedBytes > MaxQueuedBytes || !_pipeline.Push(unit))
        {
            // The decoder is behind (or failed): what follows depends on this frame, so wait for a keyframe.
            _synced = false;
            Interlocked.Increment(ref _droppedInput);
        }
    }

    private void OnPicture(byte[] picture, TimeSpan pts)
    {
        Interlocked.Increment(ref _pictures);
        lock (_gate)
        {
            _last = picture;
            foreach (var viewer in _viewers)
            {
                viewer.Offer(picture);
            }
        }
    }

    private void OnError(string reason)
    {
        // A failed pipeline is replaced at the next keyframe; a camera sending garbage would log every GOP.
        var now = _time.GetTimestamp();
        var last = Interlocked.Read(ref _lastErrorLog);
        if (last == 0 || _time.GetElapsedTime(last, now) > TimeSpan.FromSeconds(10))
        {
            Interlocked.Exchange(ref _lastErrorLog, now);
            Log.DecodeFailed(_logger, _stream.Name, reason);
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventIds.MjpegDecodeFailed, LogLevel.Warning, "Stream {Stream}: MJPEG decoding failed ({Reason}); it starts again at the next keyframe.")]
        public static partial void DecodeFailed(ILogger logger, string stream, string reason);
    }
}
