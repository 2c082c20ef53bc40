namespace Relay.Server.Hls;

/// <summary>An LL-HLS partial segment: one fMP4 fragment (<c>moof</c> + <c>mdat</c>). Immutable once published.</summary>
/// <param name="Index">Its position within its segment, from 0.</param>
/// <param name="Data">The fragment's bytes.</param>
/// <param name="Duration">Its duration in seconds.</param>
/// <param name="Independent">Whether it starts with a keyframe (EXT-X-PART INDEPENDENT=YES).</param>
internal sealed record HlsPart(int Index, ReadOnlyMemory<byte> Data, double Duration, bool Independent);

/// <summary>
/// A media segment: the parts published so far, in order; complete once the next keyframe (or an outage or a
/// configuration change) closed it. Its bytes are its parts' bytes, one after another. Mutated by the muxer under its
/// lock only; readers copy what they need under the same lock.
/// </summary>
internal sealed class HlsSegment(long sequence, DateTimeOffset programDateTime, int initVersion, bool discontinuity)
{
    private readonly List<HlsPart> _parts = [];

    /// <summary>Gets the media sequence number.</summary>
    public long Sequence { get; } = sequence;

    /// <summary>Gets the wall-clock time of its first sample (EXT-X-PROGRAM-DATE-TIME).</summary>
    public DateTimeOffset ProgramDateTime { get; } = programDateTime;

    /// <summary>Gets the initialization segment its fragments need.</summary>
    public int InitVersion { get; } = initVersion;

    /// <summary>Gets a value indicating whether it follows a change of codec parameters (EXT-X-DISCONTINUITY).</summary>
    public bool Discontinuity { get; } = discontinuity;

    /// <summary>Gets the parts so far.</summary>
    public IReadOnlyList<HlsPart> Parts => _parts;

    /// <summary>Gets a value indicating whether the segment is closed.</summary>
    public bool IsComplete { get; private set; }

    /// <summary>Gets the duration of its parts, in seconds.</summary>
    public double Duration { get; private set; }

    /// <summary>Gets its size in bytes.</summary>
    public long Bytes { get; private set; }

    /// <summary>Gets a value indicating whether it starts with a keyframe.</summary>
    public bool Independent => _parts.Count > 0 && _parts[0].Independent;

    public void Add(HlsPart part)
    {
        _parts.Add(part);
        Duration += part.Duration;
        Bytes += part.Data.Length;
    }

    /// <summary>
    /// Gets a value indicating whether the segment was made at once from the stream's cached GOP. Its parts bring no
    /// latency gain, so the playlist lists it whole: a player takes the cached GOP in one request and can start.
    /// </summary>
    public bool FromCache { get; private set; }

    public void Complete(bool fromCache = false)
    {
        IsComplete = true;
        FromCache = fromCache;
    }
}
