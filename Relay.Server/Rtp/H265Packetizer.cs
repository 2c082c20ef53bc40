using Relay.Media;
using Relay.Server.Codecs;

namespace Relay.Server.Rtp;

/// <summary>
/// H.265 (RFC 7798): single NAL unit packets, and fragmentation units (type 49) for larger NAL units. Access unit
/// delimiters are dropped. The marker bit is set on the last packet of the access unit.
/// </summary>
internal sealed class H265Packetizer(int mtu) : RtpPacketizer(mtu)
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

            if (nal.Length < 3 || H265.NalType(nal[0]) == H265.NalAud)
            {
                continue;
            }

            var last = !hasCurrent;
            if (nal.Length <= MaxPayload)
            {
                frame.AppendRtp(track, marker: last, timestamp, default, nal);
                continue;
            }

            // FU (§4.4.3): PayloadHdr keeps F, LayerId and TID with type 49; FU header carries S/E and the type.
            var type = H265.NalType(nal[0]);
            Span<byte> prefix = [(byte)((nal[0] & 0x81) | (H265.NalFragmentation << 1)), nal[1], 0];
            var body = nal[2..];
            var chunkSize = MaxPayload - 3;
            var first = true;
            while (!body.IsEmpty)
            {
                var chunk = body[..Math.Min(body.Length, chunkSize)];
                body = body[chunk.Length..];
                prefix[2] = (byte)((first ? 0x80 : 0) | (body.IsEmpty ? 0x40 : 0) | type);
                frame.AppendRtp(track, marker: last && body.IsEmpty, timestamp, prefix, chunk);
                first = false;
            }
        }
    }
}
