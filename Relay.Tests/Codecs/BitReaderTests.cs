using Relay.Server.Codecs;

namespace Relay.Tests.Codecs;

public sealed class BitReaderTests
{
    [Fact]
    public void ReadUe_and_ReadSe_decode_exp_golomb_codes()
    {
        // 1 | 010 | 011 | 00100 | 00101 → ue 0,1,2,3 then se(4) = -2
        var reader = new BitReader([0b1010_0110, 0b0100_0010, 0b1000_0000]);

        Assert.Equal(0u, reader.ReadUe());
        Assert.Equal(1u, reader.ReadUe());
        Assert.Equal(2u, reader.ReadUe());
        Assert.Equal(3u, reader.ReadUe());
        Assert.Equal(-2, reader.ReadSe());
    }

    [Fact]
    public void Emulation_prevention_bytes_are_skipped()
    {
        var reader = new BitReader([0, 0, 3, 0xFF]);

        Assert.Equal(0u, reader.ReadBits(16));
        Assert.Equal(0xFFu, reader.ReadBits(8));
    }

    [Fact]
    public void Reading_past_the_end_throws()
    {
        Assert.Throws<FormatException>(() =>
        {
            var reader = new BitReader([0xFF]);
            reader.ReadBits(9);
        });
    }

    [Fact]
    public void A_corrupt_exp_golomb_code_throws()
    {
        Assert.Throws<FormatException>(() =>
        {
            var reader = new BitReader([0, 0, 0, 0, 0, 0, 0, 1]);
            reader.ReadUe();
        });
    }
}
