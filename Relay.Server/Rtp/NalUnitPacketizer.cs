using Relay.Media;
using Relay.Server.Codecs;

namespace Relay.Server.Rtp;

/// <summary>
/// H.264 and H.265 alike: walks the access unit's NAL units (Annex B), sends each that fits as a single NAL unit
/// packet and fragments a larger one into fragmentation units, whose last header byte carries the start (0x80) and
/// end (0x40) bits and the NAL type. The marker bit is set on the last packet of the access unit.
/// </summary>
internal abstract class NalUnitPacketizer(int mtu) : RtpPacketizer(mtu)
{
    /// <summary>Gets the NAL unit header's length (1 for H.264, 2 for H.265), which fragments do not repeat.</summary>
    protected abstract int NalHeaderLength { get; }

    public sealed override void Packetize(AccessUnit unit, RtpTrack track, RtpFrame frame)
    {
        var timestamp = track.ToRtpTimestamp(unit.Pts);
        var data = unit.Data.Span;
        var position = 0;
        Span<byte> fragmentHeaders = stackalloc byte[3];
        var hasCurrent = AnnexB.TryFindNext(data, ref position, out var start, out var length);
        while (hasCurrent)
        {
            var nal = data.Slice(start, length);
            hasCurrent = AnnexB.TryFindNext(data, ref position, out start, out length);
            while (hasCurrent && length == 0)
            {
                hasCurrent = AnnexB.TryFindNext(data, ref position, out start, out length);
            }

            if (nal.Length < NalHeaderLength || IsDropped(nal))
            {
                continue;
            }

            var last = !hasCurrent;
            if (nal.Length <= MaxPayload)
            {
                frame.AppendRtp(track, marker: last, timestamp, default, nal);
                continue;
            }

            var prefix = fragmentHeaders[..WriteFragmentPrefix(nal, fragmentHeaders)];
            var typeBits = prefix[^1];
            var body = nal[NalHeaderLength..];
            var chunkSize = MaxPayload - prefix.Length;
            var first = true;
            while (!body.IsEmpty)
            {
                var chunk = body[..Math.Min(body.Length, chunkSize)];
                body = body[chunk.Length..];
                prefix[^1] = (byte)((first ? 0x80 : 0) | (body.IsEmpty ? 0x40 : 0) | typeBits);
                frame.AppendRtp(track, marker: last && body.IsEmpty, timestamp, prefix, chunk);
                first = false;
            }
        }
    }

    /// <summary>Gets whether a NAL unit is not sent at all (access unit delimiters).</summary>
    protected abstract bool IsDropped(ReadOnlySpan<byte> nal);

    /// <summary>
    /// Writes the fragmentation unit's headers for <paramref name="nal"/> into <paramref name="prefix"/>, the last
    /// byte holding the NAL type with the start and end bits clear, and returns their length.
    /// </summary>
    protected abstract int WriteFragmentPrefix(ReadOnlySpan<byte> nal, Span<byte> prefix);
}
