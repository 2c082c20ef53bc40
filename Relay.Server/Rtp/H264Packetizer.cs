using Relay.Server.Codecs;

namespace Relay.Server.Rtp;

/// <summary>
/// H.264 (RFC 6184, packetization-mode=1): single NAL unit packets, and FU-A fragments for larger NAL units.
/// Access unit delimiters are dropped (§5.1 needs none).
/// </summary>
internal sealed class H264Packetizer(int mtu) : NalUnitPacketizer(mtu)
{
    protected override int NalHeaderLength => 1;

    protected override bool IsDropped(ReadOnlySpan<byte> nal) => H264.NalType(nal[0]) == H264.NalAud;

    // FU-A (§5.8): the indicator carries F and NRI with type 28; the FU header carries the NAL type.
    protected override int WriteFragmentPrefix(ReadOnlySpan<byte> nal, Span<byte> prefix)
    {
        prefix[0] = (byte)((nal[0] & 0xE0) | H264.NalFuA);
        prefix[1] = (byte)(nal[0] & 0x1F);
        return 2;
    }
}
