using System.Net;
using System.Net.Sockets;
using Relay.Media;
using Relay.Server.Rtp;
using Relay.Server.Rtsp;

namespace Relay.Tests.Rtsp;

/// <summary>The UDP fan-out: every reader gets exactly the frame's datagrams, segmented by the kernel or not.</summary>
public sealed class UdpBatchTests
{
    [Fact]
    public void Every_reader_gets_the_frames_datagrams_byte_for_byte_with_segmentation()
    {
        var (delivered, segmenting) = Deliver(refuseSegmentation: false);

        Assert.True(segmenting, "loopback takes UDP_SEGMENT");
        Assert.All(delivered, d => Assert.Equal(d.Expected, d.Received));
    }

    [Fact]
    public void A_socket_that_refuses_segmentation_falls_back_to_one_message_per_packet_and_loses_nothing()
    {
        // SO_NO_CHECK (no UDP checksums) makes the kernel refuse UDP_SEGMENT with EINVAL, as a route without checksum
        // offload refuses it with EIO.
        var (delivered, segmenting) = Deliver(refuseSegmentation: true);

        Assert.False(segmenting);
        Assert.All(delivered, d => Assert.Equal(d.Expected, d.Received));
    }

    private static (List<(List<string> Expected, List<string> Received)> Delivered, bool Segmenting) Deliver(bool refuseSegmentation)
    {
        using var sender = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        sender.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        if (refuseSegmentation)
        {
            sender.SetRawSocketOption(1, 11, BitConverter.GetBytes(1)); // SOL_SOCKET, SO_NO_CHECK
        }

        var receivers = Enumerable.Range(0, 3).Select(_ =>
        {
            var receiver = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp) { ReceiveBufferSize = 4 << 20 };
            receiver.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            return receiver;
        }).ToList();
        var frames = new[] { Frame(keyframe: true), Frame(keyframe: false) };
        try
        {
            using var batch = new UdpBatch(sender);
            foreach (var frame in frames)
            {
                batch.Begin(frame);
                foreach (var receiver in receivers)
                {
                    var (packets, _) = batch.Add(new NativeSocketAddress((IPEndPoint)receiver.LocalEndPoint!));
                    Assert.Equal(frame.PacketCount, packets);
                }

                batch.Flush();
            }

            var expected = new List<string>();
            foreach (var frame in frames)
            {
                foreach (var packet in frame.Packets)
                {
                    expected.Add(Convert.ToHexString(packet));
                }
            }

            var delivered = receivers.Select(r => (expected, Receive(r, expected.Count))).ToList();
            return (delivered, batch.Segmenting);
        }
        finally
        {
            foreach (var frame in frames)
            {
                frame.Release();
            }

            foreach (var receiver in receivers)
            {
                receiver.Dispose();
            }
        }
    }

    private static List<string> Receive(Socket receiver, int count)
    {
        var buffer = new byte[65536];
        var received = new List<string>();
        while (received.Count < count && receiver.Poll(TimeSpan.FromSeconds(5), SelectMode.SelectRead))
        {
            received.Add(Convert.ToHexString(buffer.AsSpan(0, receiver.Receive(buffer))));
        }

        return received;
    }

    /// <summary>An H.264 picture packetized at MTU 1400: a keyframe (SPS, PPS, a 30 KB IDR slice) or a 5 KB delta frame.</summary>
    private static RtpFrame Frame(bool keyframe)
    {
        var random = new Random(keyframe ? 1 : 2); // fixed seeds
        var slice = new byte[keyframe ? 30_000 : 5_000];
        random.NextBytes(slice);
        for (var i = 0; i + 2 < slice.Length; i++)
        {
            if (slice[i] == 0 && slice[i + 1] == 0)
            {
                slice[i + 2] |= 4; // no start code inside the slice
            }
        }

        byte[] start = [0, 0, 0, 1];
        byte[] bytes = keyframe
            ? [.. start, 0x67, 0x42, 0xC0, 0x1F, 0x8C, .. start, 0x68, 0xCE, 0x3C, 0x80, .. start, 0x65, .. slice]
            : [.. start, 0x41, .. slice];
        var info = new TrackInfo { Index = 0, Kind = MediaKind.Video, Codec = Codec.H264, ClockRate = 90000 };
        var track = new RtpTrack(info, 96);
        var packetizer = RtpPacketizer.For(info, 1400);
        var unit = AccessUnit.Copy(0, bytes, keyframe, TimeSpan.FromSeconds(1));
        var frame = RtpFrame.Rent(0, keyframe, unit.Dts, packetizer.EstimateFrameSize(unit));
        packetizer.Packetize(unit, track, frame);
        unit.Release();
        return frame;
    }
}
