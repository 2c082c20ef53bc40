using System.Net;
using System.Net.Sockets;
using BenchmarkDotNet.Attributes;
using Relay.Media;
using Relay.Server.Rtp;
using Relay.Server.Rtsp;

namespace Relay.Benchmarks;

/// <summary>
/// The relay's per-frame hot path, after the camera's access unit is depacketized: packetizing it into RTP once per
/// stream, then sending that frame to N UDP readers (runs of equal-sized packets with UDP_SEGMENT, every reader in one
/// sendmmsg: what <c>RtspMedia</c> does for every frame).
/// The frame is a 720p-sized H.264 picture (a 60 KB keyframe or a 9 KB delta frame) at MTU 1400. Steady state must not
/// allocate: the Allocated column is per frame. <see cref="SendToUdpReadersPerPacket"/> is the baseline: one message
/// per packet, as before UDP segmentation offload (forced through a socket that refuses it).
/// <see cref="SendToTcpReaders"/> is the interleaved fan-out: the frame, already framed for RTSP over TCP, written to
/// each reader's connection in one non-blocking send (the TCP fast path of <c>TcpDelivery</c>); the readers are drained
/// so their windows stay open, as for viewers that keep up.
/// </summary>
[MemoryDiagnoser]
public class HotPathBenchmarks
{
    private const int Mtu = 1400;
    private readonly List<Socket> _receivers = [];
    private AccessUnit _unit = null!;
    private RtpTrack _track = null!;
    private RtpPacketizer _packetizer = null!;
    private RtpFrame _frame = null!;
    private Socket _sender = null!;
    private UdpBatch _batch = null!;
    private NativeSocketAddress[] _readers = [];
    private Socket _perPacketSender = null!;
    private UdpBatch _perPacketBatch = null!;
    private readonly List<Socket> _tcpSenders = [];
    private readonly List<Socket> _tcpReceivers = [];
    private readonly CancellationTokenSource _drainStop = new();
    private Task[] _drains = [];

    /// <summary>Gets or sets whether the unit is a keyframe (60 KB, 43 packets) or a delta frame (9 KB, 7 packets).</summary>
    [Params(true, false)]
    public bool Keyframe { get; set; }

    /// <summary>Gets or sets the number of UDP readers of the stream.</summary>
    [Params(1, 50, 200)]
    public int Readers { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var info = new TrackInfo { Index = 0, Kind = MediaKind.Video, Codec = Codec.H264, ClockRate = 90000 };
        _track = new RtpTrack(info, 96);
        _packetizer = RtpPacketizer.For(info, Mtu);
        _unit = AccessUnit.Copy(0, Picture(Keyframe ? 60_000 : 9_000, Keyframe), Keyframe, TimeSpan.FromSeconds(1));
        _frame = Packetize();

        // Readers are loopback sockets that never read: the kernel drops what does not fit, as for a slow viewer;
        // the send costs the same.
        _sender = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        _sender.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        _sender.SendBufferSize = 4 << 20;
        _batch = new UdpBatch(_sender);
        _perPacketSender = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        _perPacketSender.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        _perPacketSender.SendBufferSize = 4 << 20;
        _perPacketSender.SetRawSocketOption(1, 11, BitConverter.GetBytes(1)); // SO_NO_CHECK: the kernel refuses UDP_SEGMENT
        _perPacketBatch = new UdpBatch(_perPacketSender);
        _readers = new NativeSocketAddress[Readers];
        for (var i = 0; i < Readers; i++)
        {
            var receiver = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp) { ReceiveBufferSize = 4096 };
            receiver.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            _receivers.Add(receiver);
            _readers[i] = new NativeSocketAddress((IPEndPoint)receiver.LocalEndPoint!);
        }
    }

    /// <summary>Connects the TCP readers (loopback pairs, non-blocking on the relay's side) and starts draining them.</summary>
    [GlobalSetup(Target = nameof(SendToTcpReaders))]
    public void SetupTcp()
    {
        Setup();
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(Readers);
        for (var i = 0; i < Readers; i++)
        {
            var receiver = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            receiver.Connect(listener.LocalEndPoint!);
            var sender = listener.Accept();
            sender.Blocking = false;
            sender.NoDelay = true;
            _tcpSenders.Add(sender);
            _tcpReceivers.Add(receiver);
        }

        _drains = _tcpReceivers.Select(r => Task.Run(() => DrainAsync(r, _drainStop.Token))).ToArray();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _drainStop.Cancel();
        foreach (var socket in _tcpSenders.Concat(_tcpReceivers))
        {
            socket.Dispose();
        }

        Task.WaitAll(_drains);

        _frame.Release();
        _unit.Release();
        _batch.Dispose();
        _sender.Dispose();
        _perPacketBatch.Dispose();
        _perPacketSender.Dispose();
        foreach (var receiver in _receivers)
        {
            receiver.Dispose();
        }
    }

    /// <summary>Access unit to RTP packets, once per stream (the readers share the frame).</summary>
    [Benchmark]
    public int PacketizeOnce()
    {
        var frame = Packetize();
        var packets = frame.PacketCount;
        frame.Release();
        return packets;
    }

    /// <summary>One frame to every reader as the product sends it: runs of equal-sized packets with UDP_SEGMENT, one sendmmsg.</summary>
    [Benchmark]
    public long SendToUdpReaders() => Send(_batch);

    private long Send(UdpBatch batch)
    {
        long bytes = 0;
        batch.Begin(_frame);
        foreach (var reader in _readers)
        {
            bytes += batch.Add(reader).Bytes;
        }

        batch.Flush();
        return bytes;
    }

    /// <summary>One frame to every TCP reader: one non-blocking send of the interleaved frame per reader.</summary>
    /// <returns>The bytes the kernel took (a reader whose window is full takes less; the product would queue the rest).</returns>
    [Benchmark]
    public long SendToTcpReaders()
    {
        long bytes = 0;
        var data = _frame.Data;
        foreach (var sender in _tcpSenders)
        {
            var sent = sender.Send(data, SocketFlags.None, out var error);
            bytes += error == SocketError.Success ? sent : 0;
        }

        return bytes;
    }

    /// <summary>The same frame, one message per packet (the product before UDP_SEGMENT, and its fallback).</summary>
    [Benchmark(Baseline = true)]
    public long SendToUdpReadersPerPacket() => Send(_perPacketBatch);

    /// <summary>
    /// Checks that both sends deliver the frame's packets, byte for byte, to a reader that reads (run with
    /// <c>-- --check</c>): the segmented experiment must send the same datagrams as the product's path.
    /// </summary>
    /// <returns>A line per mode: the datagrams received and whether they match.</returns>
    public static IEnumerable<string> Check()
    {
        foreach (var keyframe in new[] { true, false })
        {
            var bench = new HotPathBenchmarks { Keyframe = keyframe, Readers = 1 };
            bench.Setup();
            try
            {
                var receiver = bench._receivers[0];
                receiver.ReceiveBufferSize = 8 << 20;
                var expected = new List<byte[]>();
                foreach (var packet in bench._frame.Packets)
                {
                    expected.Add(packet.ToArray());
                }

                foreach (var (name, send) in new (string, Func<long>)[] { ("segmented", bench.SendToUdpReaders), ("per packet", bench.SendToUdpReadersPerPacket) })
                {
                    send();
                    var buffer = new byte[65536];
                    var received = new List<byte[]>();
                    while (received.Count < expected.Count && receiver.Poll(1_000_000, SelectMode.SelectRead))
                    {
                        received.Add(buffer.AsSpan(0, receiver.Receive(buffer)).ToArray());
                    }

                    var same = received.Count == expected.Count && received.Zip(expected).All(p => p.First.AsSpan().SequenceEqual(p.Second));
                    yield return $"{(keyframe ? "keyframe" : "delta frame")} {name}: {received.Count} of {expected.Count} datagrams, {(same ? "identical" : "DIFFERENT")}";
                }
            }
            finally
            {
                bench.Cleanup();
            }
        }
    }

    /// <summary>Reads a TCP reader until stopped; awaiting socket receives allocates nothing once running.</summary>
    private static async Task DrainAsync(Socket receiver, CancellationToken cancellationToken)
    {
        var buffer = new byte[1 << 16];
        try
        {
            while (await receiver.ReceiveAsync(buffer, SocketFlags.None, cancellationToken) > 0)
            {
            }
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
        {
            // Stopped.
        }
    }

    private RtpFrame Packetize()
    {
        var frame = RtpFrame.Rent(0, _unit.IsKeyframe, _unit.Dts, _packetizer.EstimateFrameSize(_unit));
        _packetizer.Packetize(_unit, _track, frame);
        return frame;
    }

    /// <summary>An Annex B picture: for a keyframe SPS, PPS and an IDR slice, else one non-IDR slice, of about <paramref name="size"/> bytes.</summary>
    private static byte[] Picture(int size, bool keyframe)
    {
        var random = new Random(7); // fixed: the same bytes every run
        var slice = new byte[size];
        random.NextBytes(slice);
        for (var i = 0; i + 2 < slice.Length; i++)
        {
            if (slice[i] == 0 && slice[i + 1] == 0)
            {
                slice[i + 2] |= 4; // no start code or emulation pattern inside the slice
            }
        }

        byte[] start = [0, 0, 0, 1];
        var nals = new List<byte>();
        if (keyframe)
        {
            nals.AddRange([.. start, 0x67, 0x42, 0xC0, 0x1F, 0x8C, 0x8D, 0x40]);
            nals.AddRange([.. start, 0x68, 0xCE, 0x3C, 0x80]);
        }

        nals.AddRange([.. start, (byte)(keyframe ? 0x65 : 0x41), .. slice]);
        return [.. nals];
    }
}
