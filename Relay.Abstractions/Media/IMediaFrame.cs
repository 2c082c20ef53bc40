namespace Relay.Media;

/// <summary>
/// A reference-counted frame that a stream shares between readers: an <see cref="AccessUnit"/>, or the RTP
/// packets built from one. Whoever keeps a frame beyond the call that handed it over calls
/// <see cref="AddRef"/>, and <see cref="Release"/> when done; the last release returns its buffer to the pool.
/// </summary>
public interface IMediaFrame
{
    /// <summary>Gets the index of the track within its stream.</summary>
    int TrackIndex { get; }

    /// <summary>Gets a value indicating whether a decoder can start at this frame.</summary>
    bool IsKeyframe { get; }

    /// <summary>Gets the frame's size in bytes, for queue accounting.</summary>
    int Length { get; }

    /// <summary>Gets the decoding time on the stream timeline, for cache bounds.</summary>
    TimeSpan Dts { get; }

    /// <summary>Adds a reference.</summary>
    void AddRef();

    /// <summary>Drops a reference; the last one returns the buffer to its pool.</summary>
    void Release();
}
