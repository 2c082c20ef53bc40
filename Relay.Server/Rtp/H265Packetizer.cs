using Relay.Server.Codecs;

namespace Relay.Server.Rtp;

/// <summary>
/// H.265 (RFC 7798): single NAL unit packets, and fragmentation units (type 49) for larger NAL units. Access unit
/// delimiters are dropped.
/// </summary>
internal sealed class H265Packetizer(int mtu) : NalUnitPacketizer(mtu)
{
    protected override int NalHeaderLength => 2;

    protected override bool IsDropped(ReadOnlySpan<byte> nal) => nal.Length < 3 || H265.NalType(nal[0]) == H265.NalAud;

    // FU (§4.4.3): the payload header keeps F, LayerId and TID with type 49; the FU header carries the NAL type.
    protected override int WriteFragmentPrefix(ReadOnlySpan<byte> nal, Span<byte> prefix)
    {
        prefix[0] = (byte)((nal[0] & 0x81) | (H265.NalFragmentation << 1));
        prefix[1] = nal[1];
        prefix[2] = (byte)H265.NalType(nal[0]);
        return 3;
    }
}
