
using System.Buffers.Binary;
using Relay.Media;

namespace Relay.Server.Rtp;

/// <summary>
/// The RTP packets of one access unit (or one RTCP compound packet), built once and shared by every reader.
/// The buffer is laid out ready for RTSP interleaving (RFC 2326 §10.12): each packet is preceded by
/// <c>$</c>, its channel (2 × track for RTP, +1 for RTCP) and its 16-bit length, so a TCP reader on the
/// default channels sends the whole frame in one write, and a UDP reader sends each packet without the
/// 4-byte prefix. Pooled and reference-counted (see <see cref="IMediaFrame"/>); the frame objects are reused too,
/// so packetizing a frame allocates nothing once a stream runs.
/// <para>
/// A GOP cache keeps <em>hollow</em> frames (<see cref="Hollow"/>): the access unit (shared with the stream's own GOP
/// cache) and the numbers its packets had, but no packets. <see cref="Fill"/> builds them again, byte for byte, when a
/// reader joins, so a camera's GOP is held once instead of twice.
/// </para>
/// </summary>
internal sealed class RtpFrame : PooledFrame, IMediaFrame
{
    /// <summary>Size of the interleaved-frame prefix before each packet.</summary>
    public const int InterleavedHeaderLength = 4;

    /// <summary>Size of the fixed RTP header Relay writes (no CSRC, no extension).</summary>
    public const int RtpHeaderLength = 12;

    // Released frame objects, for Rent. Bounded: what is in flight at a peak (GOP caches, reader queues) is at most a
    // few thousand frames; beyond the bound the GC takes them.
    private const int PooledObjects = 4096;
    private static readonly Stack<RtpFrame> Released = new();

    private AccessUnit? _unit; // a hollow frame's access unit (one reference)
    private int _replaySequence = -1; // while filling: the sequence number of the next packet

    private RtpFrame(byte[] buffer)
        : base(buffer)
    {
    }

    /// <inheritdoc />
    public int TrackIndex { get; private set; }

    /// <inheritdoc />
    public bool IsKeyframe { get; private set; }

    /// <summary>Gets a value indicating whether this frame holds RTCP rather than RTP.</summary>
    public bool IsControl { get; private set; }

    /// <summary>Gets the interleaved channel the packets are framed on: the default numbering, 2n for RTP, 2n+1 for RTCP.</summary>
    public int Channel => (2 * TrackIndex) + (IsControl ? 1 : 0);

    /// <inheritdoc />
    public int Length { get; private set; }

    /// <inheritdoc />
    public TimeSpan Dts { get; private set; }

    /// <summary>Gets the number of packets.</summary>
    public int PacketCount { get; private set; }

    /// <summary>Gets the sequence number of the first RTP packet.</summary>
    public ushort FirstSequence { get; private set; }

    /// <summary>Gets the RTP timestamp of the first packet.</summary>
    public uint FirstTimestamp { get; private set; }

    /// <summary>Gets a value indicating whether the frame holds no packets yet (see <see cref="Fill"/>).</summary>
    public bool IsHollow => _unit is not null;

    /// <summary>Gets the packets with their interleaved prefixes, on the default channels.</summary>
    public ReadOnlySpan<byte> Data => Buffer.AsSpan(0, Length);

    /// <summary>Gets the packets as memory (for async socket writes).</summary>
    public ReadOnlyMemory<byte> Memory => Buffer.AsMemory(0, Length);

    /// <summary>Creates an empty frame; the caller owns one reference.</summary>
    public static RtpFrame Rent(int trackIndex, bool isKeyframe, TimeSpan dts, int capacity, bool isControl = false)
    {
        var frame = Obtain(MediaBufferPool.Rent(Math.Max(capacity, 64)));
        frame.TrackIndex = trackIndex;
        frame.IsKeyframe = isKeyframe;
        frame.IsControl = isControl;
        frame.Dts = dts;
        frame.Length = 0;
        frame.PacketCount = 0;
        frame.FirstSequence = 0;
        frame.FirstTimestamp = 0;
        return frame;
    }

    /// <summary>
    /// Creates a hollow copy of <paramref name="built"/>, just packetized from <paramref name="unit"/>: it keeps a
    /// reference to the unit and the packets' numbers, and reports the same length (for cache bounds), but holds no
    /// packets until <see cref="Fill"/>. The caller owns one reference.
    /// </summary>
    public static RtpFrame Hollow(RtpFrame built, AccessUnit unit)
    {
        unit.AddRef();
        var frame = Obtain([]);
        frame._unit = unit;
        frame.TrackIndex = built.TrackIndex;
        frame.IsKeyframe = built.IsKeyframe;
        frame.IsControl = false;
        frame.Dts = built.Dts;
        frame.Length = built.Length;
        frame.PacketCount = built.PacketCount;
        frame.FirstSequence = built.FirstSequence;
        frame.FirstTimestamp = built.FirstTimestamp;
        return frame;
    }

    /// <summary>
    /// Builds a hollow frame's packets again: the same packetizer and track give the same bytes, with the sequence
    /// numbers the packets had when first built; the track's own numbering and counts are left alone. Only for a frame
    /// no one else holds yet (a GOP cache fills its frames before offering them); a full frame is left as it is.
    /// </summary>
    public void Fill(RtpPacketizer packetizer, RtpTrack track)
    {
        if (_unit is not { } unit)
        {
            return;
        }

        Buffer = MediaBufferPool.Rent(Math.Max(Length, 64));
        Length = 0;
        PacketCount = 0;
        _replaySequence = FirstSequence;
        try
        {
            packetizer.Packetize(unit, track, this);
        }
        finally
        {
            _replaySequence = -1;
            _unit = null;
            unit.Release();
        }
    }

    private static RtpFrame Obtain(byte[] buffer)
    {
        RtpFrame? frame;
        lock (Released)
        {
            Released.TryPop(out frame);
        }

        if (frame is null)
        {
            return new RtpFrame(buffer);
        }

        frame.Reuse(buffer);
        return frame;
    }

    /// <inheritdoc />
    protected override void OnReleased()
    {
        if (_unit is { } unit)
        {
            _unit = null;
            unit.Release();
        }

        lock (Released)
        {
            if (Released.Count < PooledObjects)
            {
                Released.Push(this);
            }
        }
    }

    /// <summary>Enumerates the packets (without their interleaved prefixes).</summary>
    public PacketEnumerator Packets => new(Data);

    /// <summary>Appends one RTP packet: header from <paramref name="track"/>, then prefix and payload.</summary>
    public void AppendRtp(RtpTrack track, bool marker, uint timestamp, ReadOnlySpan<byte> prefix, ReadOnlySpan<byte> payload)
    {
        var packetLength = RtpHeaderLength + prefix.Length + payload.Length;
        var span = Reserve(InterleavedHeaderLength + packetLength);
        var sequence = _replaySequence < 0 ? track.NextSequence++ : (ushort)_replaySequence++;
        span[0] = (byte)'$';
        span[1] = (byte)(2 * TrackIndex);
        BinaryPrimitives.WriteUInt16BigEndian(span[2..], (ushort)packetLength);
        var rtp = span[InterleavedHeaderLength..];
        rtp[0] = 0x80; // V=2, no padding, no extension, no CSRC
        rtp[1] = (byte)((marker ? 0x80 : 0) | track.PayloadType);
        BinaryPrimitives.WriteUInt16BigEndian(rtp[2..], sequence);
        BinaryPrimitives.WriteUInt32BigEndian(rtp[4..], timestamp);
        BinaryPrimitives.WriteUInt32BigEndian(rtp[8..], track.Ssrc);
        prefix.CopyTo(rtp[RtpHeaderLength..]);
        payload.CopyTo(rtp[(RtpHeaderLength + prefix.Length)..]);
        if (PacketCount == 0)
        {
            FirstSequence = sequence;
            FirstTimestamp = timestamp;
        }

        PacketCount++;
        Length += InterleavedHeaderLength + packetLength;
        if (_replaySequence < 0)
        {
            track.OnSent(prefix.Length + payload.Length, timestamp);
        }
    }

    /// <summary>Appends one RTCP packet (already encoded) on the track's control channel.</summary>
    public void AppendRtcp(ReadOnlySpan<byte> packet)
    {
        var span = Reserve(InterleavedHeaderLength + packet.Length);
        span[0] = (byte)'$';
        span[1] = (byte)((2 * TrackIndex) + 1);
        BinaryPrimitives.WriteUInt16BigEndian(span[2..], (ushort)packet.Length);
        packet.CopyTo(span[InterleavedHeaderLength..]);
        PacketCount++;
        Length += InterleavedHeaderLength + packet.Length;
    }

    private Span<byte> Reserve(int size)
    {
        if (Length + size > Buffer.Length)
        {
            var larger = MediaBufferPool.Rent(Math.Max(Buffer.Length * 2, Length + size));
            Buffer.AsSpan(0, Length).CopyTo(larger);
            MediaBufferPool.Return(Buffer);
            Buffer = larger;
        }

        return Buffer.AsSpan(Length, size);
    }

    /// <summary>Enumerates the packets of a frame buffer, each without its 4-byte interleaved prefix.</summary>
    internal ref struct PacketEnumerator
    {
        private readonly ReadOnlySpan<byte> _data;
        private int _offset;

        public PacketEnumerator(ReadOnlySpan<byte> data)
        {
            _data = data;
            _offset = 0;
            Current = default;
        }

        public ReadOnlySpan<byte> Current { get; private set; }

        public readonly PacketEnumerator GetEnumerator() => this;

        public bool MoveNext()
        {
            if (_offset + InterleavedHeaderLength > _data.Length)
            {
                return false;
            }

            var length = BinaryPrimitives.ReadUInt16BigEndian(_data[(_offset + 2)..]);
            Current = _data.Slice(_offset + InterleavedHeaderLength, length);
            _offset += InterleavedHeaderLength + length;
            return true;
        }
    }
}
