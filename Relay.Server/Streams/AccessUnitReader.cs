using Relay.Media;

namespace Relay.Server.Streams;

/// <summary>
/// A queued reader of a stream's access units (used by outputs that consume whole frames, and by tests).
/// It starts at a keyframe: the cached GOP when the stream gives one, else the next live keyframe.
/// Dispose it to leave the stream.
/// </summary>
internal sealed class AccessUnitReader : IStreamSubscriber, IDisposable
{
    private readonly StreamHub _stream;
    private readonly FrameQueue<AccessUnit> _queue;
    private int _disposed;

    internal AccessUnitReader(StreamHub stream, FrameQueueOptions options, TimeProvider time)
    {
        _stream = stream;
        _queue = new FrameQueue<AccessUnit>(options, time, startAtKeyframe: true);
    }

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
        _queue.SyncTrack = anchorTrack;
        foreach (var unit in gop)
        {
            _queue.TryWrite(unit);
        }
    }

    /// <inheritdoc />
    void IStreamSubscriber.OnAccessUnit(AccessUnit unit) => _queue.TryWrite(unit);

    /// <inheritdoc />
    void IStreamSubscriber.OnTracksChanged(IReadOnlyList<TrackInfo> tracks, int anchorTrack, bool codecChanged)
    {
        Tracks = tracks;
        _queue.SyncTrack = anchorTrack;
        if (codecChanged)
        {
            _queue.Complete(new StreamEndedException("The source's codec changed."));
        }
    }

    /// <inheritdoc />
    void IStreamSubscriber.OnDetached() => _queue.Complete();

    /// <inheritdoc />
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            _stream.Unsubscribe(this);
            _queue.Dispose();
        }
    }
}
