using Relay.Media;

namespace Relay.Server.Streams;

/// <summary>
/// A queued reader of a stream's access units (used by outputs that consume whole frames, and by tests).
/// It starts at a keyframe: the cached GOP when the stream gives one, else the next live keyframe.
/// Dispose it to leave the stream.
/// </summary>
internal sealed class AccessUnitReader : IStreamSubscriber, IDisposable
{
    /// <summary>The most units held back while <see cref="WakeOnSyncTrack"/> waits for the next sync-track unit.</summary>
    private const int MaxHeld = 32;

    private readonly StreamHub _stream;
    private readonly FrameQueue<AccessUnit> _queue;
    private readonly List<AccessUnit> _held = []; // the writer's only (the stream calls under its lock)
    private int _anchorTrack = -1;
    private int _disposed;

    internal AccessUnitReader(StreamHub stream, FrameQueueOptions options, TimeProvider time, bool wakeOnSyncTrack = false)
    {
        _stream = stream;
        _queue = new FrameQueue<AccessUnit>(options, time, startAtKeyframe: true);
        WakeOnSyncTrack = wakeOnSyncTrack;
    }

    /// <summary>
    /// Gets a value indicating whether units of other tracks (audio) are held back and queued with the next unit of
    /// the sync track (video), in their order: the reader wakes once per video frame instead of once per unit, which
    /// is most of what a reader that only forwards media costs. Audio waits at most one video frame interval.
    /// </summary>
    public bool WakeOnSyncTrack { get; }

    /// <summary>Gets the number of frames skipped because this reader fell behind.</summary>
    public long Skipped => _queue.Skipped;

    /// <summary>Gets the number of frames waiting.</summary>
    public int Queued => _queue.Count;

    /// <summary>Gets the stream's tracks as this reader last saw them.</summary>
    public IReadOnlyList<TrackInfo> Tracks { get; private set; } = [];

    /// <summary>Takes the next unit; the caller owns a reference and must release it.</summary>
    public bool TryRead(out AccessUnit unit) => _queue.TryRead(out unit);

    /// <summary>Waits for a unit; false when the reader ended (the stream went away).</summary>
    /// <exception cref="ReaderTooSlowException">The reader fell too far behind and was cut off.</exception>
    /// <exception cref="StreamEndedException">The codec changed.</exception>
    public ValueTask<bool> WaitToReadAsync(CancellationToken cancellationToken) => _queue.WaitToReadAsync(cancellationToken);

    /// <summary>Reads the next unit, waiting for it.</summary>
    /// <returns>The unit (the caller releases it), or null when the reader ended.</returns>
    public async ValueTask<AccessUnit?> ReadAsync(CancellationToken cancellationToken)
    {
        while (await _queue.WaitToReadAsync(cancellationToken))
        {
            if (_queue.TryRead(out var unit))
            {
                return unit;
            }
        }

        return null;
    }

    /// <inheritdoc />
    void IStreamSubscriber.OnAttached(IReadOnlyList<TrackInfo> tracks, int anchorTrack, IReadOnlyList<AccessUnit> gop)
    {
        Tracks = tracks;
        _anchorTrack = anchorTrack;
        _queue.SyncTrack = anchorTrack;
        foreach (var unit in gop)
        {
            _queue.TryWrite(unit);
        }
    }

    /// <inheritdoc />
    void IStreamSubscriber.OnAccessUnit(AccessUnit unit)
    {
        if (!WakeOnSyncTrack || _anchorTrack < 0)
        {
            _queue.TryWrite(unit);
            return;
        }

        if (unit.TrackIndex != _anchorTrack && _held.Count < MaxHeld)
        {
            unit.AddRef();
            _held.Add(unit);
            return;
        }

        Flush();
        _queue.TryWrite(unit);
    }

    /// <inheritdoc />
    void IStreamSubscriber.OnTracksChanged(IReadOnlyList<TrackInfo> tracks, int anchorTrack, bool codecChanged)
    {
        Flush();
        Tracks = tracks;
        _anchorTrack = anchorTrack;
        _queue.SyncTrack = anchorTrack;
        if (codecChanged)
        {
            _queue.Complete(new StreamEndedException("The source's codec changed."));
        }
    }

    /// <inheritdoc />
    void IStreamSubscriber.OnDetached()
    {
        Flush();
        _queue.Complete();
    }

    /// <summary>Queues the held units (in their order) and lets them go.</summary>
    private void Flush()
    {
        foreach (var unit in _held)
        {
            _queue.TryWrite(unit); // the queue adds its own reference
            unit.Release();
        }

        _held.Clear();
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            _stream.Unsubscribe(this); // no call from the stream after this: the held units are ours to release
            foreach (var unit in _held)
            {
                unit.Release();
            }

            _held.Clear();
            _queue.Dispose();
        }
    }
}
