using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using BenchmarkDotNet.Attributes;
using Relay.Media;
using Relay.Server.Interop;
using Relay.Server.Rtp;
using Relay.Server.Rtsp;

namespace Relay.Benchmarks;

/// <summary>
/// The relay's per-frame hot path, after the camera's access unit is depacketized: packetizing it into RTP once per
/// stream, then sending that frame to N UDP readers with one sendmmsg batch (what <c>RtspMedia</c> does for every frame).
/// The frame is a 720p-sized H.264 picture (a 60 KB keyframe or a 9 KB delta frame) at MTU 1400. Steady state must not
/// allocate: the Allocated column is per frame. <see cref="SendToUdpReadersSegmented"/> is an experiment, not the
/// product's path: the same frame with UDP segmentation offload (one message per run of equal-sized packets per
/// reader, all readers in one sendmmsg).
/// </summary>
[MemoryDiagnoser]
public unsafe class HotPathBenchmarks
{
    private const int SolUdp = 17;
    private const int UdpSegment = 103;
    private const int MaxSegments = 64;
    private const int CmsgSpace = 24; // CMSG_SPACE(sizeof(uint16_t)) on LP64

    private const int Mtu = 1400;
    private readonly List<Socket> _receivers = [];
    private AccessUnit _unit = null!;
    private RtpTrack _track = null!;
    private RtpPacketizer _packetizer = null!;
    private RtpFrame _frame = null!;
    private Socket _sender = null!;
    private UdpBatch _batch = null!;
    private NativeSocketAddress[] _readers = [];
    private IoVec* _packets;
    private MMsgHdr* _messages;
    private byte* _addresses;
    private byte* _controls;
    private (int First, int Count, int Size)[] _runs = [];

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
        _readers = new NativeSocketAddress[Readers];
        for (var i = 0; i < Readers; i++)
        {
            var receiver = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp) { ReceiveBufferSize = 4096 };
            receiver.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            _receivers.Add(receiver);
            _readers[i] = new NativeSocketAddress((IPEndPoint)receiver.LocalEndPoint!);
        }

        _packets = (IoVec*)NativeMemory.AllocZeroed(1024, (nuint)sizeof(IoVec));
        _runs = new (int, int, int)[1024];
        _messages = (MMsgHdr*)NativeMemory.AllocZeroed((nuint)(Readers * 64), (nuint)sizeof(MMsgHdr));
        _controls = (byte*)NativeMemory.AllocZeroed(1024, CmsgSpace);
        _addresses = (byte*)NativeMemory.AllocZeroed((nuint)Readers, 28);
        for (var i = 0; i < Readers; i++)
        {
            _readers[i].Bytes.CopyTo(new Span<byte>(_addresses + (i * 28), 28));
        }
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _frame.Release();
        _unit.Release();
        _batch.Dispose();
        _sender.Dispose();
        NativeMemory.Free(_packets);
        NativeMemory.Free(_messages);
        NativeMemory.Free(_controls);
        NativeMemory.Free(_addresses);
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

    /// <summary>One frame to every reader: sendmmsg batches of the frame's packets, one address per reader.</summary>
    [Benchmark]
    public long SendToUdpReaders()
    {
        long bytes = 0;
        _batch.Begin(_frame);
        foreach (var reader in _readers)
        {
            bytes += _batch.Add(reader).Bytes;
        }

        _batch.Flush();
        return bytes;
    }

    /// <summary>
    /// The frame's packets grouped into runs a kernel can segment (equal sizes, the last one may be shorter, at most
    /// 64 and under 64 KB), one UDP_SEGMENT message per run and reader, every reader's messages in one sendmmsg.
    /// </summary>
    [Benchmark]
    public long SendToUdpReadersSegmented()
    {
        using var pin = _frame.Memory.Pin();
        var data = _frame.Data;
        var basePointer = (byte*)pin.Pointer;
        var packets = 0;
        for (var offset = 0; offset + RtpFrame.InterleavedHeaderLength <= data.Length; packets++)
        {
            var length = (data[offset + 2] << 8) | data[offset + 3];
            _packets[packets] = new IoVec { Base = basePointer + offset + RtpFrame.InterleavedHeaderLength, Length = (nuint)length };
            offset += RtpFrame.InterleavedHeaderLength + length;
        }

        var runs = 0;
        for (var i = 0; i < packets;)
        {
            var size = (int)_packets[i].Length;
            var limit = Math.Min(MaxSegments, 65000 / size);
            var count = 1;
            while (i + count < packets && count < limit && (int)_packets[i + count].Length == size)
            {
                count++;
            }

            if (i + count < packets && count < limit && (int)_packets[i + count].Length < size)
            {
                count++; // a shorter last segment is allowed
            }

            var control = _controls + (runs * CmsgSpace);
            *(nuint*)control = 18; // CMSG_LEN(2)
            *(int*)(control + 8) = SolUdp;
            *(int*)(control + 12) = UdpSegment;
            *(ushort*)(control + 16) = (ushort)size;
            _runs[runs++] = (i, count, size);
            i += count;
        }

        long bytes = 0;
        var message = 0;
        for (var reader = 0; reader < Readers; reader++)
        {
            for (var r = 0; r < runs; r++)
            {
                var (first, count, _) = _runs[r];
                _messages[message++] = new MMsgHdr
                {
                    Name = _addresses + (reader * 28),
                    NameLength = 16,
                    Iov = _packets + first,
                    IovLength = (nuint)count,
                    Control = count > 1 ? _controls + (r * CmsgSpace) : null,
                    ControlLength = count > 1 ? (nuint)CmsgSpace : 0,
                };
            }
        }

        var fd = (int)_sender.Handle;
        for (var sent = 0; sent < message;)
        {
            var result = LibC.sendmmsg(fd, _messages + sent, (uint)Math.Min(1024, message - sent), LibC.MsgDontWait);
            if (result <= 0)
            {
                throw new InvalidOperationException($"sendmmsg failed: errno {Marshal.GetLastPInvokeError()}");
            }

            sent += result;
        }

        for (var m = 0; m < message; m++)
        {
            bytes += _messages[m].Sent;
        }

        return bytes;
    }

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

                foreach (var (name, send) in new (string, Func<long>)[] { ("sendmmsg", bench.SendToUdpReaders), ("segmented", bench.SendToUdpReadersSegmented) })
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
