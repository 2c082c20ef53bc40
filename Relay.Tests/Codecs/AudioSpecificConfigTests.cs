using Relay.Server.Codecs;

namespace Relay.Tests.Codecs;

public sealed class AudioSpecificConfigTests
{
    [Theory]
    [InlineData("1190", 2, 48000, 2)]
    [InlineData("1188", 2, 48000, 1)]
    [InlineData("1210", 2, 44100, 2)]
    [InlineData("1408", 2, 16000, 1)]
    public void Parse_reads_object_type_rate_and_channels(string hex, int objectType, int rate, int channels)
    {
        Assert.Equal(new AudioSpecificConfig(objectType, rate, channels), AudioSpecificConfig.Parse(Convert.FromHexString(hex)));
    }

    [Fact]
    public void Parse_rejects_a_reserved_frequency_index()
    {
        Assert.Throws<FormatException>(() => AudioSpecificConfig.Parse([0x17, 0x08]));
    }
}
