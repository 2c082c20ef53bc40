using Relay.Server.Codecs;

namespace Relay.Tests.Codecs;

public sealed class AnnexBTests
{
    [Fact]
    public void Enumerate_splits_on_three_and_four_byte_start_codes()
    {
        byte[] data = [0, 0, 0, 1, 0x67, 1, 2, 0, 0, 1, 0x68, 3, 0, 0, 0, 1, 0x65, 4, 5, 6];

        var units = new List<byte[]>();
        foreach (var nal in AnnexB.Enumerate(data))
        {
            units.Add(nal.ToArray());
        }

        Assert.Equal(3, units.Count);
        Assert.Equal(new byte[] { 0x67, 1, 2 }, units[0]);
        Assert.Equal(new byte[] { 0x68, 3 }, units[1]);
        Assert.Equal(new byte[] { 0x65, 4, 5, 6 }, units[2]);
    }

    [Fact]
    public void Enumerate_treats_data_without_start_code_as_one_unit()
    {
        byte[] data = [0x41, 9, 9];

        var count = 0;
        foreach (var nal in AnnexB.Enumerate(data))
        {
            Assert.Equal(data, nal.ToArray());
            count++;
        }

        Assert.Equal(1, count);
    }

    [Fact]
    public void Enumerate_of_nothing_yields_nothing()
    {
        var count = 0;
        foreach (var unused in AnnexB.Enumerate([]))
        {
            count++;
        }

        Assert.Equal(0, count);
    }
}
