using System.Buffers.Binary;
using System.Text;

namespace Relay.Server.Hls;

/// <summary>
/// Writes ISO base media file format boxes (ISO/IEC 14496-12 §4.2), big-endian, into a growable buffer. A box is
/// opened with <see cref="Begin"/> and closed with <see cref="End"/>, which fills in its 32-bit size.
/// </summary>
internal sealed class BoxWriter
{
    private readonly Stack<int> _open = new();
    private byte[] _buffer;
    private int _length;

    public BoxWriter(int capacity = 1024)
    {
        _buffer = new byte[Math.Max(64, capacity)];
    }

    /// <summary>Gets the number of bytes written.</summary>
    public int Length => _length;

    /// <summary>Gets the written bytes (valid until the next write).</summary>
    public ReadOnlySpan<byte> Written => _buffer.AsSpan(0, _length);

    /// <summary>Opens a box of type <paramref name="type"/> (four ASCII characters).</summary>
    public BoxWriter Begin(string type)
    {
        _open.Push(_length);
        U32(0);
        FourCc(type);
        return this;
    }

    /// <summary>Opens a full box (a box with a version and 24 bits of flags).</summary>
    public BoxWriter BeginFull(string type, byte version, uint flags)
    {
        Begin(type);
        U32(((uint)version << 24) | (flags & 0xFFFFFF));
        return this;
    }

    /// <summary>Closes the innermost open box.</summary>
    public BoxWriter End()
    {
        var start = _open.Pop();
        BinaryPrimitives.WriteUInt32BigEndian(_buffer.AsSpan(start), (uint)(_length - start));
        return this;
    }

    public BoxWriter U8(int value)
    {
        Grow(1)[0] = (byte)value;
        return this;
    }

    public BoxWriter U16(int value)
    {
        BinaryPrimitives.WriteUInt16BigEndian(Grow(2), (ushort)value);
        return this;
    }

    public BoxWriter U24(int value)
    {
        var span = Grow(3);
        span[0] = (byte)(value >> 16);
        span[1] = (byte)(value >> 8);
        span[2] = (byte)value;
        return this;
    }

    public BoxWriter U32(uint value)
    {
        BinaryPrimitives.WriteUInt32BigEndian(Grow(4), value);
        return this;
    }

    public BoxWriter I32(int value)
    {
        BinaryPrimitives.WriteInt32BigEndian(Grow(4), value);
        return this;
    }

    public BoxWriter U64(ulong value)
    {
        BinaryPrimitives.WriteUInt64BigEndian(Grow(8), value);
        return this;
    }

    public BoxWriter Zeros(int count)
    {
        Grow(count).Clear();
        return this;
    }

    public BoxWriter Bytes(ReadOnlySpan<byte> bytes)
    {
        bytes.CopyTo(Grow(bytes.Length));
        return this;
    }

    public BoxWriter FourCc(string code)
    {
        if (code.Length != 4 || Encoding.ASCII.GetBytes(code, Grow(4)) != 4)
        {
            throw new ArgumentException($"'{code}' is not a four-character code.", nameof(code));
        }

        return this;
    }

    /// <summary>Reserves <paramref name="count"/> bytes to be filled by the caller (for example media data).</summary>
    public Span<byte> Reserve(int count) => Grow(count);

    /// <summary>Overwrites a 32-bit value written earlier, at <paramref name="offset"/> from the start.</summary>
    public void PatchI32(int offset, int value) => BinaryPrimitives.WriteInt32BigEndian(_buffer.AsSpan(offset), value);

    /// <summary>Gets the written bytes without copying; the writer must not be used afterwards.</summary>
    public ReadOnlyMemory<byte> Detach()
    {
        if (_open.Count != 0)
        {
            throw new InvalidOperationException($"{_open.Count} box(es) still open.");
        }

        var written = _buffer.AsMemory(0, _length);
        _buffer = [];
        _length = 0;
        return written;
    }

    private Span<byte> Grow(int count)
    {
        if (_length + count > _buffer.Length)
        {
            Array.Resize(ref _buffer, Math.Max(_buffer.Length * 2, _length + count));
        }

        var span = _buffer.AsSpan(_length, count);
        _length += count;
        return span;
    }
}
