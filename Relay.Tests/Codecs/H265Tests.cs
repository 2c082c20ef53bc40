using Relay.Server.Codecs;

namespace Relay.Tests.Codecs;

public sealed class H265Tests
{
    // From x265 (GStreamer x265enc) at 1920x1080: coded as 1920x1088 with a conformance window.
    private const string Sps1080p = "420101040800000300980800000300007890007810021c8a52cacd24995ffe00020002d404040410000003001000000301e080";

    [Fact]
    public void ParseSps_applies_the_conformance_window()
    {
        var sps = H265.ParseSps(Convert.FromHexString(Sps1080p));

        Assert.Equal((1920, 1080), (sps.Width, sps.Height));
        Assert.Equal(4, sps.ProfileIdc);
    }

    [Fact]
    public void NalType_reads_the_six_type_bits()
    {
        Assert.Equal(H265.NalVps, H265.NalType(0x40));
        Assert.Equal(H265.NalSps, H265.NalType(0x42));
        Assert.Equal(H265.NalPps, H265.NalType(0x44));
        Assert.Equal(H265.NalIdrWRadl, H265.NalType(0x26));
    }
}
