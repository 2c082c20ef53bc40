using System.Buffers;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using Relay.Server.Interop;
using Relay.Server.Rtp;

namespace Relay.Server.Rtsp;

/// <summary>
/// Sends one RTP frame to many UDP readers with as few system calls as possible: every (reader, packet) pair of a
/// frame becomes one message of a single sendmmsg(2) call. On a VM each system call costs far more than the copy
/// (measured: per-packet sendto made UDP fan-out 2-4x the CPU of gst-rtsp-server, which batches the same way).
/// Used by one thread at a time (the stream's delivery thread, under the RTSP media lock).
/// </summary>
internal sealed unsafe class UdpBatch : IDisposable
{
    private const int SockAddrSize = 28;
    private readonly Socket _socket;
    private int _capacity;
    private int _count;
    private MMsgHdr* _messages;
    private IoVec* _vectors;
    private byte* _addresses;
    private RtpFrame? _frame;
    private MemoryHandle _pin;

    public UdpBatch(Socket socket)
    {
        _socket = socket;
        Grow(256);
    }

    /// <summary>Gets the number of messages the kernel refused since start.</summary>
    public long Dropped { get; private set; }

    /// <summary>Starts a batch for <paramref name="frame"/> (pins its buffer until <see cref="Flush"/>).</summary>
    public void Begin(RtpFrame frame)
    {
        _frame = frame;
        _pin = frame.Memory.Pin();
        _count = 0;
    }

    /// <summary>Adds every packet of the current frame, to <paramref name="destination"/>.</summary>
    /// <returns>The number of packets and payload bytes queued.</returns>
    public (int Packets, long Bytes) Add(NativeSocketAddress destination)
    {
        var frame = _frame!;
        if (_count + frame.PacketCount > _capacity)
        {
            Flush();
            _pin = frame.Memory.Pin();
            _frame = frame;
            if (frame.PacketCount > _capacity)
            {
                Grow(frame.PacketCount);
            }
        }

        var basePointer = (byte*)_pin.Pointer;
        var data = frame.Data;
        var offset = 0;
        long bytes = 0;
        var packets = 0;
        while (offset + RtpFrame.InterleavedHeaderLength <= data.Length)
        {
            var length = (data[offset + 2] << 8) | data[offset + 3];
            var i = _count++;
            var address = _addresses + (i * SockAddrSize);
            destination.Bytes.CopyTo(new Span<byte>(address, SockAddrSize));
            _vectors[i] = new IoVec { Base = basePointer + offset + RtpFrame.InterleavedHeaderLength, Length = (nuint)length };
            _messages[i] = new MMsgHdr { Name = address, NameLength = (uint)destination.Bytes.Length, Iov = _vectors + i, IovLength = 1 };
            offset += RtpFrame.InterleavedHeaderLength + length;
            bytes += length;
            packets++;
        }

        return (packets, bytes);
    }

    /// <summary>Sends what was added and unpins the frame.</summary>
    public void Flush()
    {
        try
        {
            var fd = (int)_socket.Handle;
            var sent = 0;
            while (sent < _count)
            {
                var result = LibC.sendmmsg(fd, _messages + sent, (uint)(_count - sent), LibC.MsgDontWait);
                if (result <= 0)
                {
                    const int EAGAIN = 11;
                    if (Marshal.GetLastPInvokeError() == EAGAIN)
                    {
                        // The socket buffer is full: the rest of this frame is lost, as UDP allows.
                        Dropped += _count - sent;
                        break;
                    }

                    // One refused destination must not stop the others.
                    Dropped++;
                    sent++;
                    continue;
                }

                sent += result;
            }
        }
        finally
        {
            _count = 0;
            _pin.Dispose();
            _pin = default;
            _frame = null;
        }
    }

    public void Dispose()
    {
        _pin.Dispose();
        NativeMemory.Free(_messages);
        NativeMemory.Free(_vectors);
        NativeMemory.Free(_addresses);
        _messages = null;
        _vectors = null;
        _addresses = null;
    }

    private void Grow(int capacity)
    {
        NativeMemory.Free(_messages);
        NativeMemory.Free(_vectors);
        NativeMemory.Free(_addresses);
        _capacity = capacity;
        _messages = (MMsgHdr*)NativeMemory.AllocZeroed((nuint)capacity, (nuint)sizeof(MMsgHdr));
        _vectors = (IoVec*)NativeMemory.AllocZeroed((nuint)capacity, (nuint)sizeof(IoVec));
        _addresses = (byte*)NativeMemory.AllocZeroed((nuint)capacity, SockAddrSize);
    }
}
