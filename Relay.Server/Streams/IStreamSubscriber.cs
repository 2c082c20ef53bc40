using Relay.Media;

namespace Relay.Server.Streams;

/// <summary>
/// Something that consumes a stream's access units: a queued reader, or the shared RTP packetizer of the
/// RTSP server. Every method is called under the stream's lock, on the source's delivery thread: it must
/// only enqueue or do a small amount of work, never block.
/// </summary>
internal interface IStreamSubscriber
{
    /// <summary>The subscriber was attached.</summary>
    /// <param name="tracks">The stream's tracks now.</param>
    /// <param name="anchorTrack">The video track whose keyframes start a GOP, or -1.</param>
    /// <param name="gop">The cached GOP to start with (keyframe first); empty to start at the next live keyframe. Borrowed.</param>
    void OnAttached(IReadOnlyList<TrackInfo> tracks, int anchorTrack, IReadOnlyList<AccessUnit> gop);

    /// <summary>An access unit, already on the stream timeline. Borrowed: call AddRef to keep it.</summary>
    void OnAccessUnit(AccessUnit unit);

    /// <summary>Track parameters changed; when <paramref name="codecChanged"/>, current readers cannot continue.</summary>
    void OnTracksChanged(IReadOnlyList<TrackInfo> tracks, int anchorTrack, bool codecChanged);

    /// <summary>The stream is going away (removed or shutting down).</summary>
    void OnDetached();
}
