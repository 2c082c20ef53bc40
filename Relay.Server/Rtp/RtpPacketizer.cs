using Relay.Media;

namespace Relay.Server.Rtp;

/// <summary>Turns access units of one codec into RTP packets (appended to an <see cref="RtpFrame"/>).</summary>
internal abstract class RtpPacketizer
{
    protected RtpPacketizer(int mtu)
    {
        MaxPayload = mtu - RtpFrame.RtpHeaderLength;
    }

    /// <summary>Gets the largest RTP payload, from the MTU.</summary>
    protected int MaxPayload { get; }

    /// <summary>Creates the packetizer for a track's codec.</summary>
    public static RtpPacketizer For(TrackInfo track, int mtu) => track.Codec switch
    {
        Codec.H264 => new H264Packetizer(mtu),
        Codec.H265 => new H265Packetizer(mtu),
        Codec.Aac => new AacPacketizer(mtu),
        Codec.Pcmu or Codec.Pcma => new G711Packetizer(mtu, Math.Max(1, track.Channels)),
        _ => new WholeUnitPacketizer(mtu),
    };

    /// <summary>Gets a buffer size that usually fits the unit's packets.</summary>
    public int EstimateFrameSize(AccessUnit unit) =>
        unit.Length + (((unit.Length / Math.Max(1, MaxPayload - 4)) + 8) * (RtpFrame.InterleavedHeaderLength + RtpFrame.RtpHeaderLength + 4));

    /// <summary>Appends the packets of <paramref name="unit"/> to <paramref name="frame"/>.</summary>
    public abstract void Packetize(AccessUnit unit, RtpTrack track, RtpFrame frame);
}

/// <summary>
/// One RTP packet per unit (Opus, RFC 7587; passthrough payloads, which keep their marker bit). A unit larger
/// than the MTU is split, which only a passthrough payload can be.
/// </summary>
internal sealed class WholeUnitPacketizer(int mtu) : RtpPacketizer(mtu)
{
    public override void Packetize(AccessUnit unit, RtpTrack track, RtpFrame frame)
    {
        var timestamp = track.ToRtpTimestamp(unit.Pts);
        var data = unit.Data.Span;
        do
        {
            var chunk = data[..Math.Min(data.Length, MaxPayload)];
            data = data[chunk.Length..];
            frame.AppendRtp(track, marker: data.IsEmpty && unit.Marker, timestamp, default, chunk);
        }
        while (!data.IsEmpty);
    }
}

/// <summary>G.711 (RFC 3551 §4.5.14): samples as payload, split at the MTU with timestamps advancing per sample.</summary>
internal sealed class G711Packetizer(int mtu, int channels) : RtpPacketizer(mtu)
{
    public override void Packetize(AccessUnit unit, RtpTrack track, RtpFrame frame)
    {
        var timestamp = track.ToRtpTimestamp(unit.Pts);
        var data = unit.Data.Span;
        var chunkSize = MaxPayload - (MaxPayload % channels);
        while (!data.IsEmpty)
        {
            var chunk = data[..Math.Min(data.Length, chunkSize)];
            frame.AppendRtp(track, marker: false, timestamp, default, chunk);
            timestamp = unchecked(timestamp + (uint)(chunk.Length / channels));
            data = data[chunk.Length..];
        }
    }
}

/// <summary>
/// MPEG-4 AAC in AAC-hbr mode (RFC 3640 §3.3.6): AU-headers-length, one 16-bit AU-header (13-bit size,
/// 3-bit index), then the frame; a frame larger than the MTU is fragmented, each fragment repeating the header.
/// </summary>
internal sealed class AacPacketizer(int mtu) : RtpPacketizer(mtu)
{
    public override void Packetize(AccessUnit unit, RtpTrack track, RtpFrame frame)
    {
        var timestamp = track.ToRtpTimestamp(unit.Pts);
        var data = unit.Data.Span;
        var size = Math.Min(data.Length, 0x1FFF);
        Span<byte> header = [0x00, 0x10, (byte)(size >> 5), (byte)((size & 0x1F) << 3)];
        var chunkSize = MaxPayload - header.Length;
        do
        {
            var chunk = data[..Math.Min(data.Length, chunkSize)];
            data = data[chunk.Length..];
            frame.AppendRtp(track, marker: data.IsEmpty, timestamp, header, chunk);
        }
        while (!data.IsEmpty);
    }
}
