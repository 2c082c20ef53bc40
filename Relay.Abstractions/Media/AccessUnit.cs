
using System.Diagnostics;

namespace Relay.Media;

/// <summary>
/// One encoded frame of one track: a video access unit (Annex B, all NAL units of one picture),
/// one audio frame, or, for <see cref="Codec.Passthrough"/> tracks, one RTP payload.
/// The bytes live in a pooled buffer shared by every reader; see <see cref="IMediaFrame"/> for the
/// reference-counting rules.
/// </summary>
public sealed class AccessUnit : PooledFrame, IMediaFrame
{
    private AccessUnit(byte[] buffer, int length, int trackIndex, bool isKeyframe)
        : base(buffer)
    {
        Length = length;
        TrackIndex = trackIndex;
        IsKeyframe = isKeyframe;
    }

    /// <inheritdoc />
    public int TrackIndex { get; }

    /// <summary>Gets or sets a value indicating whether a decoder can start at this unit (set by its source before anyone else sees it).</summary>
    public bool IsKeyframe { get; set; }

    /// <inheritdoc />
    public int Length { get; }

    /// <summary>
    /// Gets or sets the presentation time. A source sets it in its own connection's time base; the stream
    /// rebases it onto the stream's continuous timeline before any reader sees the unit.
    /// </summary>
    public TimeSpan Pts { get; set; }

    /// <summary>Gets or sets the decoding time, in the same time base as <see cref="Pts"/>.</summary>
    public TimeSpan Dts { get; set; }

    /// <summary>
    /// Gets or sets a value indicating whether this unit ends a frame. Always true for parsed codecs; for
    /// <see cref="Codec.Passthrough"/> it is the RTP marker bit of the original packet.
    /// </summary>
    public bool Marker { get; set; } = true;

    /// <summary>Gets the encoded bytes. Valid while the caller holds a reference.</summary>
    public ReadOnlyMemory<byte> Data
    {
        get
        {
            Debug.Assert(ReferenceCount > 0, "AccessUnit used after its last Release.");
            return Buffer.AsMemory(0, Length);
        }
    }

    /// <summary>Creates a unit with a pooled buffer of <paramref name="length"/> bytes and one reference.</summary>
    /// <param name="trackIndex">The track within the stream.</param>
    /// <param name="length">The number of bytes the caller will write into <see cref="GetWritableSpan"/>.</param>
    /// <param name="isKeyframe">Whether a decoder can start here.</param>
    /// <returns>The new unit; the caller owns its one reference.</returns>
    public static AccessUnit Rent(int trackIndex, int length, bool isKeyframe)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        return new AccessUnit(MediaBufferPool.Rent(Math.Max(length, 1)), length, trackIndex, isKeyframe);
    }

    /// <summary>Creates a unit holding a copy of <paramref name="data"/>.</summary>
    /// <param name="trackIndex">The track within the stream.</param>
    /// <param name="data">The bytes to copy.</param>
    /// <param name="isKeyframe">Whether a decoder can start here.</param>
    /// <param name="pts">The presentation time.</param>
    /// <param name="dts">The decoding time; defaults to <paramref name="pts"/>.</param>
    /// <returns>The new unit; the caller owns its one reference.</returns>
    public static AccessUnit Copy(int trackIndex, ReadOnlySpan<byte> data, bool isKeyframe, TimeSpan pts, TimeSpan? dts = null)
    {
        var unit = Rent(trackIndex, data.Length, isKeyframe);
        data.CopyTo(unit.GetWritableSpan());
        unit.Pts = pts;
        unit.Dts = dts ?? pts;
        return unit;
    }

    /// <summary>Gets the buffer for filling, before the unit is handed to anyone else.</summary>
    /// <returns>The writable bytes.</returns>
    public Span<byte> GetWritableSpan()
    {
        ObjectDisposedException.ThrowIf(ReferenceCount <= 0, this);
        return Buffer.AsSpan(0, Length);
    }

    /// <inheritdoc />
    public override string ToString() =>
        $"AccessUnit(track {TrackIndex}, {Length} B, pts {Pts.TotalMilliseconds:F1} ms, dts {Dts.TotalMilliseconds:F1} ms{(IsKeyframe ? ", key" : string.Empty)})";
}
