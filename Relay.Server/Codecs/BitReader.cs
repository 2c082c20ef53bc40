namespace Relay.Server.Codecs;

/// <summary>
/// Reads bits and Exp-Golomb codes from an RBSP (ITU-T H.264 §7.2, §9.1). Emulation-prevention bytes
/// (00 00 03) are skipped as they are met, so it reads a NAL unit's payload directly.
/// </summary>
internal ref struct BitReader
{
    private readonly ReadOnlySpan<byte> _data;
    private int _byte;
    private int _bit;
    private int _zeros;

    public BitReader(ReadOnlySpan<byte> data)
    {
        _data = data;
    }

    /// <summary>Reads one bit.</summary>
    /// <exception cref="FormatException">The data ended.</exception>
    public bool ReadBit()
    {
        if (_bit == 0)
        {
            SkipEmulationPrevention();
        }

        if (_byte >= _data.Length)
        {
            throw new FormatException("Bitstream ended early.");
        }

        var value = (_data[_byte] >> (7 - _bit)) & 1;
        if (++_bit == 8)
        {
            _zeros = _data[_byte] == 0 ? _zeros + 1 : 0;
            _bit = 0;
            _byte++;
        }

        return value != 0;
    }

    /// <summary>Reads <paramref name="count"/> bits (at most 32) as an unsigned number, most significant first.</summary>
    public uint ReadBits(int count)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(count, 32);
        uint value = 0;
        for (var i = 0; i < count; i++)
        {
            value = (value << 1) | (ReadBit() ? 1u : 0u);
        }

        return value;
    }

    /// <summary>Reads the next whole byte (the reader must be at a byte boundary); false at the end of the data.</summary>
    /// <exception cref="InvalidOperationException">The reader is inside a byte.</exception>
    public bool TryReadByte(out byte value)
    {
        if (_bit != 0)
        {
            throw new InvalidOperationException("Not at a byte boundary.");
        }

        SkipEmulationPrevention();
        if (_byte >= _data.Length)
        {
            value = 0;
            return false;
        }

        value = _data[_byte++];
        _zeros = value == 0 ? _zeros + 1 : 0;
        return true;
    }

    /// <summary>Skips <paramref name="count"/> bits.</summary>
    public void Skip(int count)
    {
        for (var i = 0; i < count; i++)
        {
            ReadBit();
        }
    }

    /// <summary>Reads ue(v).</summary>
    /// <exception cref="FormatException">The code is longer than 31 bits (corrupt data).</exception>
    public uint ReadUe()
    {
        var leadingZeros = 0;
        while (!ReadBit())
        {
            if (++leadingZeros > 31)
            {
                throw new FormatException("Exp-Golomb code too long.");
            }
        }

        return leadingZeros == 0 ? 0 : (uint)((1L << leadingZeros) - 1 + ReadBits(leadingZeros));
    }

    /// <summary>Reads se(v).</summary>
    public int ReadSe()
    {
        var k = ReadUe();
        return (k & 1) != 0 ? (int)((k + 1) / 2) : -(int)(k / 2);
    }

    private void SkipEmulationPrevention()
    {
        if (_zeros >= 2 && _byte < _data.Length && _data[_byte] == 3)
        {
            _byte++;
            _zeros = 0;
        }
    }
}
