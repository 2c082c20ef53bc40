namespace Relay.Media;

/// <summary>
/// Where a source delivers its media: the stream that re-serves it. A source calls these methods from one
/// thread at a time, in order: <see cref="OnEpochStarted"/> when a connection to the camera is made,
/// then any number of <see cref="OnTrackChanged"/> and <see cref="OnAccessUnit"/>, then
/// <see cref="OnEpochEnded"/> when the connection ends. Implementations must not block.
/// </summary>
public interface IMediaSink
{
    /// <summary>A new source connection (an epoch) began, with these tracks.</summary>
    /// <param name="tracks">Every track of the source, indexed from 0, with the parameters known so far.</param>
    void OnEpochStarted(IReadOnlyList<TrackInfo> tracks);

    /// <summary>A track's parameters were learnt or changed in-band (for example a new SPS).</summary>
    /// <param name="track">The track's new description; <see cref="TrackInfo.Index"/> says which.</param>
    void OnTrackChanged(TrackInfo track);

    /// <summary>An access unit arrived; its timestamps are in the current epoch's time base.</summary>
    /// <param name="unit">The unit. The sink takes over the caller's reference.</param>
    void OnAccessUnit(AccessUnit unit);

    /// <summary>The current epoch ended (the camera went away, stalled, or the source was stopped).</summary>
    void OnEpochEnded();
}
