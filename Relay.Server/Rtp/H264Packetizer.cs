using Relay.Media;
using Relay.Server.Codecs;

namespace Relay.Server.Rtp;

/// <summary>
/// H.264 (RFC 6184, packetization-mode=1): a NAL unit that fits is sent as a single-NAL-unit packet, a larger
/// one as FU-A fragments. Access unit delimiters are dropped (§5.1 needs none). The marker bit is set on the
/// last packet of the access unit.
/// </summary>
internal sealed class H264Packetizer(int mtu) : RtpPacketizer(mtu)
{
    public override void Packetize(AccessUnit unit, RtpTrack track, RtpFrame frame)
    {
        var timestamp = track.ToRtpTimestamp(unit.Pts);
        var data = unit.Data.Span;
        var position = 0;
        var hasCurrent = AnnexB.TryFindNext(data, ref position, out var start, out var length);
        while (hasCurrent)
        {
            var nal = data.Slice(start, length);
            hasCurrent = AnnexB.TryFindNext(data, ref position, out start, out length);
            while (hasCurrent && length == 0)
            {
                hasCurrent = AnnexB.TryFindNext(data, ref position, out start, out length);
            }

            if (nal.IsEmpty || H264.NalType(nal[0]) == H264.NalAud)
            {
                continue;
            }

            var last = !hasCurrent;
            if (nal.Length <= MaxPayload)
            {
                frame.AppendRtp(track, marker: last, timestamp, default, nal);
                continue;
            }

            // FU-A (§5.8): indicator carries F and NRI with type 28; the header carries S/E and the NAL type.
            Span<byte> prefix = [(byte)((nal[0] & 0xE0) | H264.NalFuA), 0];
            var body = nal[1..];
            var chunkSize = MaxPayload - 2;
            var first = true;
            while (!body.IsEmpty)
            {
                var chunk = body[..Math.Min(body.Length, chunkSize)];
                body = body[chunk.Length..];
                prefix[1] = (byte)((first ? 0x80 : 0) | (body.IsEmpty ? 0x40 : 0) | (nal[0] & 0x1F));
                frame.AppendRtp(track, marker: last && body.IsEmpty, timestamp, prefix, chunk);
                first = false;
            }
        }
    }
}
