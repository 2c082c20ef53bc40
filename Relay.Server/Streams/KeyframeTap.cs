using Relay.Configuration;
using Relay.Media;

namespace Relay.Server.Streams;

/// <summary>A keyframe of a stream's video and the track it belongs to. The holder owns one reference to <see cref="Unit"/>.</summary>
/// <param name="Unit">The keyframe access unit (parameter sets in band).</param>
/// <param name="Track">The video track as it was when the keyframe arrived.</param>
internal sealed record Keyframe(AccessUnit Unit, TrackInfo Track);

/// <summary>
/// Takes one keyframe of a stream's anchor video track: the GOP cache's at once when there is one, otherwise the
/// next one that arrives. Used for snapshots, which need a picture now rather than a stream of them.
/// </summary>
internal sealed class KeyframeTap : IStreamSubscriber
{
    private readonly TaskCompletionSource<Keyframe> _result = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private IReadOnlyList<TrackInfo> _tracks = [];
    private int _anchor = -1;

    private KeyframeTap()
    {
    }

    /// <summary>Gets the stream's latest keyframe, waiting up to <paramref name="timeout"/> for one.</summary>
    /// <returns>The keyframe (the caller releases its unit), or null when none came in time or the stream went away.</returns>
    public static async Task<Keyframe?> TakeAsync(StreamHub stream, TimeSpan timeout, TimeProvider time, CancellationToken cancellationToken)
    {
        var tap = new KeyframeTap();
        try
        {
            stream.Subscribe(tap, StartAt.Keyframe);
        }
        catch (ObjectDisposedException)
        {
            return null; // the stream was removed
        }

        try
        {
            await tap._result.Task.WaitAsync(timeout, time, cancellationToken);
        }
        catch (Exception e) when (e is TimeoutException or OperationCanceledException)
        {
            // Checked below: a keyframe may still have arrived.
        }
        finally
        {
            stream.Unsubscribe(tap); // no call reaches the tap after this, so the result below is final
        }

        return tap._result.Task.IsCompletedSuccessfully ? tap._result.Task.Result : null;
    }

    /// <inheritdoc />
    void IStreamSubscriber.OnAttached(IReadOnlyList<TrackInfo> tracks, int anchorTrack, IReadOnlyList<AccessUnit> gop)
    {
        _tracks = tracks;
        _anchor = anchorTrack;
        if (gop.Count > 0)
        {
            Offer(gop[0]);
        }
    }

    /// <inheritdoc />
    void IStreamSubscriber.OnAccessUnit(AccessUnit unit) => Offer(unit);

    /// <inheritdoc />
    void IStreamSubscriber.OnTracksChanged(IReadOnlyList<TrackInfo> tracks, int anchorTrack, bool codecChanged)
    {
        _tracks = tracks;
        _anchor = anchorTrack;
    }

    /// <inheritdoc />
    void IStreamSubscriber.OnDetached() => _result.TrySetCanceled();

    private void Offer(AccessUnit unit)
    {
        if (unit.IsKeyframe && unit.TrackIndex == _anchor && _anchor >= 0 && _anchor < _tracks.Count && !_result.Task.IsCompleted)
        {
            unit.AddRef();
            if (!_result.TrySetResult(new Keyframe(unit, _tracks[_anchor])))
            {
                unit.Release();
            }
        }
    }
}
