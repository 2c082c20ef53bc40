using System.Buffers.Binary;
using Relay.Media;
using Relay.Server.Rtp;

namespace Relay.Tests.Rtp;

public sealed class RtpPacketizerTests
{
    private static readonly TrackInfo Video = new() { Index = 0, Kind = MediaKind.Video, Codec = Codec.H264, ClockRate = 90000 };

    [Fact]
    public void Small_nal_units_become_single_nal_packets_and_the_aud_is_dropped()
    {
        var track = new RtpTrack(Video, 96);
        var unit = Unit([0, 0, 0, 1, 0x09, 0xF0], [0, 0, 0, 1, 0x67, 1, 2, 3], [0, 0, 1, 0x68, 4], [0, 0, 1, 0x65, 5, 6, 7]);

        var packets = Packetize(new H264Packetizer(1400), track, unit);

        Assert.Equal(3, packets.Count);
        Assert.Equal(new byte[] { 0x67, 1, 2, 3 }, packets[0].Payload);
        Assert.Equal(new byte[] { 0x68, 4 }, packets[1].Payload);
        Assert.Equal(new byte[] { 0x65, 5, 6, 7 }, packets[2].Payload);
        Assert.Equal([false, false, true], packets.Select(p => p.Marker));
        Assert.All(packets.Zip(packets.Skip(1)), p => Assert.Equal((ushort)(p.First.Sequence + 1), p.Second.Sequence));
        Assert.All(packets, p => Assert.Equal(track.ToRtpTimestamp(TimeSpan.FromSeconds(1)), p.Timestamp));
        Assert.All(packets, p => Assert.Equal(96, p.PayloadType));
    }

    [Fact]
    public void A_large_nal_unit_is_split_into_fu_a_fragments_that_reassemble_exactly()
    {
        var track = new RtpTrack(Video, 96);
        // A fixed seed, and no zero bytes: zeros could form a start code inside the unit or trailing zero bytes at its
        // end, which Annex B parsing rightly takes as the unit's boundary (one run in 256 ended in a zero byte).
        var random = new Random(20261202);
        var nal = new byte[5000];
        nal[0] = 0x65;
        for (var i = 1; i < nal.Length; i++)
        {
            nal[i] = (byte)random.Next(1, 256);
        }

        var unit = Unit([0, 0, 0, 1, .. nal]);

        var packets = Packetize(new H264Packetizer(1400), track, unit);

        Assert.Equal(4, packets.Count);
        Assert.All(packets, p => Assert.True(p.Length <= 1400, $"packet of {p.Length} bytes"));
        Assert.All(packets, p => Assert.Equal(0x60 | 28, p.Payload[0])); // NRI kept, type FU-A
        Assert.Equal(0x80 | 5, packets[0].Payload[1]); // start bit
        Assert.Equal(0x40 | 5, packets[^1].Payload[1]); // end bit
        Assert.All(packets.Skip(1).SkipLast(1), p => Assert.Equal(5, p.Payload[1]));
        Assert.Equal([false, false, false, true], packets.Select(p => p.Marker));
        var rebuilt = new List<byte> { (byte)((packets[0].Payload[0] & 0xE0) | (packets[0].Payload[1] & 0x1F)) };
        foreach (var p in packets)
        {
            rebuilt.AddRange(p.Payload[2..]);
        }

        Assert.Equal(nal, rebuilt);
    }

    [Fact]
    public void H265_large_nal_units_use_fragmentation_units()
    {
        var track = new RtpTrack(Video with { Codec = Codec.H265 }, 96);
        var nal = Enumerable.Repeat((byte)0xAA, 3000).ToArray();
        nal[0] = 0x26; // IDR_W_RADL
        nal[1] = 0x01;
        var unit = Unit([0, 0, 0, 1, 0x46, 0x01, 0x10], [0, 0, 0, 1, .. nal]); // AUD dropped

        var packets = Packetize(new H265Packetizer(1400), track, unit);

        Assert.Equal(3, packets.Count);
        Assert.All(packets, p => Assert.Equal(49, (p.Payload[0] >> 1) & 0x3F));
        Assert.Equal(0x80 | 19, packets[0].Payload[2]);
        Assert.Equal(0x40 | 19, packets[^1].Payload[2]);
        Assert.True(packets[^1].Marker);
    }

    [Fact]
    public void Aac_frames_get_an_rfc3640_au_header()
    {
        var track = new RtpTrack(new TrackInfo { Index = 1, Kind = MediaKind.Audio, Codec = Codec.Aac, ClockRate = 48000 }, 97);
        var frame = new byte[300];
        var unit = AccessUnit.Copy(1, frame, true, TimeSpan.FromMilliseconds(21.333));

        var packets = Packetize(new AacPacketizer(1400), track, unit);

        var packet = Assert.Single(packets);
        Assert.Equal(new byte[] { 0x00, 0x10, 300 >> 5, (300 & 0x1F) << 3 }, packet.Payload[..4]);
        Assert.Equal(304, packet.Payload.Length);
        Assert.True(packet.Marker);
        Assert.Equal(track.ToRtpTimestamp(TimeSpan.FromMilliseconds(21.333)), packet.Timestamp);
    }

    [Fact]
    public void G711_is_split_at_the_mtu_with_timestamps_per_sample()
    {
        var track = new RtpTrack(new TrackInfo { Index = 1, Kind = MediaKind.Audio, Codec = Codec.Pcmu, ClockRate = 8000, Channels = 1 }, 0);
        var unit = AccessUnit.Copy(1, new byte[3000], true, TimeSpan.Zero);

        var packets = Packetize(new G711Packetizer(1400, 1), track, unit);

        Assert.Equal([1388, 1388, 224], packets.Select(p => p.Payload.Length));
        Assert.Equal([0u, 1388u, 2776u], packets.Select(p => p.Timestamp - packets[0].Timestamp));
    }

    [Fact]
    public void Passthrough_payloads_keep_their_marker()
    {
        var track = new RtpTrack(new TrackInfo { Index = 2, Kind = MediaKind.Application, Codec = Codec.Passthrough, ClockRate = 90000 }, 107);
        var first = AccessUnit.Copy(2, [1, 2, 3], true, TimeSpan.Zero);
        first.Marker = false;
        var last = AccessUnit.Copy(2, [4, 5], true, TimeSpan.Zero);

        var packets = Packetize(new WholeUnitPacketizer(1400), track, first).Concat(Packetize(new WholeUnitPacketizer(1400), track, last)).ToList();

        Assert.Equal([false, true], packets.Select(p => p.Marker));
        Assert.Equal(new byte[] { 4, 5 }, packets[1].Payload);
    }

    [Fact]
    public void The_interleaved_prefix_carries_the_default_channel_and_length()
    {
        var track = new RtpTrack(Video with { Index = 1 }, 97);
        var frame = RtpFrame.Rent(1, true, TimeSpan.Zero, 64);
        new H264Packetizer(1400).Packetize(Unit([0, 0, 1, 0x65, 9, 9]), track, frame);

        var data = frame.Data.ToArray();
        frame.Release();

        Assert.Equal((byte)'$', data[0]);
        Assert.Equal(2, data[1]);
        Assert.Equal(12 + 3, BinaryPrimitives.ReadUInt16BigEndian(data.AsSpan(2)));
        Assert.Equal(4 + 12 + 3, data.Length);
    }

    [Fact]
    public void A_hollow_frame_fills_with_the_same_bytes_and_numbers_and_leaves_the_track_alone()
    {
        var track = new RtpTrack(Video, 96);
        track.NextSequence = 65534; // the frame's numbers wrap
        var random = new Random(20261203);
        var nal = new byte[4000];
        nal[0] = 0x65;
        for (var i = 1; i < nal.Length; i++)
        {
            nal[i] = (byte)random.Next(1, 256);
        }

        var unit = Unit([0, 0, 0, 1, 0x67, 1, 2], [0, 0, 0, 1, 0x68, 3], [0, 0, 0, 1, .. nal]);
        var packetizer = new H264Packetizer(1400);
        var built = RtpFrame.Rent(0, true, unit.Dts, packetizer.EstimateFrameSize(unit));
        packetizer.Packetize(unit, track, built);
        var hollow = RtpFrame.Hollow(built, unit);
        var expected = built.Data.ToArray();
        built.Release();
        unit.Release(); // the hollow frame holds its own reference
        var next = track.NextSequence;
        var sent = (track.PacketsSent, track.OctetsSent);

        Assert.True(hollow.IsHollow);
        Assert.Equal(expected.Length, hollow.Length);
        hollow.Fill(packetizer, track);

        Assert.False(hollow.IsHollow);
        Assert.Equal(expected, hollow.Data.ToArray());
        Assert.Equal((ushort)65534, hollow.FirstSequence);
        Assert.Equal(next, track.NextSequence);
        Assert.Equal(sent, (track.PacketsSent, track.OctetsSent));
        Assert.Equal(0, unit.ReferenceCount); // filling let go of the access unit
        hollow.Release();
    }

    [Fact]
    public void A_hollow_frame_released_unfilled_lets_go_of_its_access_unit()
    {
        var track = new RtpTrack(Video, 96);
        var unit = Unit([0, 0, 1, 0x65, 9, 9]);
        var packetizer = new H264Packetizer(1400);
        var built = RtpFrame.Rent(0, true, unit.Dts, packetizer.EstimateFrameSize(unit));
        packetizer.Packetize(unit, track, built);
        var hollow = RtpFrame.Hollow(built, unit);
        built.Release();

        Assert.Equal(2, unit.ReferenceCount);
        hollow.Release();
        Assert.Equal(1, unit.ReferenceCount);
        unit.Release();
    }

    internal static AccessUnit Unit(params byte[][] nals)
    {
        var bytes = nals.SelectMany(n => n).ToArray();
        return AccessUnit.Copy(0, bytes, true, TimeSpan.FromSeconds(1));
    }

    private static List<Packet> Packetize(RtpPacketizer packetizer, RtpTrack track, AccessUnit unit)
    {
        var frame = RtpFrame.Rent(unit.TrackIndex, unit.IsKeyframe, unit.Dts, packetizer.EstimateFrameSize(unit));
        packetizer.Packetize(unit, track, frame);
        var packets = new List<Packet>();
        foreach (var packet in frame.Packets)
        {
            packets.Add(new Packet(
                (packet[1] & 0x80) != 0,
                packet[1] & 0x7F,
                BinaryPrimitives.ReadUInt16BigEndian(packet[2..]),
                BinaryPrimitives.ReadUInt32BigEndian(packet[4..]),
                packet[12..].ToArray(),
                packet.Length));
        }

        Assert.Equal(packets.Count, frame.PacketCount);
        frame.Release();
        unit.Release();
        return packets;
    }

    private sealed record Packet(bool Marker, int PayloadType, ushort Sequence, uint Timestamp, byte[] Payload, int Length);
}
