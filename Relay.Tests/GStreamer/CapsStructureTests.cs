using Relay.Server.GStreamer;

namespace Relay.Tests.GStreamer;

public sealed class CapsStructureTests
{
    [Fact]
    public void Parse_reads_typed_fields_quoted_strings_and_buffers()
    {
        var caps = CapsStructure.Parse(
            "application/x-rtp, media=(string)video, payload=(int)96, clock-rate=(int)90000, encoding-name=(string)H264, " +
            "sprop-parameter-sets=(string)\"Z0LAFdkBQfsBagwMDUoAAAMAAgAAAwB5HixckA\\=\\=\\,aMuMsg\\=\\=\", a-framerate=(string)25");

        Assert.Equal("application/x-rtp", caps.Name);
        Assert.Equal("video", caps.GetString("media"));
        Assert.Equal(96, caps.GetInt("payload"));
        Assert.Equal("Z0LAFdkBQfsBagwMDUoAAAMAAgAAAwB5HixckA==,aMuMsg==", caps.GetString("sprop-parameter-sets"));
    }

    [Fact]
    public void Parse_reads_fractions_and_buffers()
    {
        var caps = CapsStructure.Parse("audio/mpeg, mpegversion=(int)4, codec_data=(buffer)1190, framerate=(fraction)30000/1001");

        Assert.Equal(new byte[] { 0x11, 0x90 }, caps.GetBuffer("codec_data"));
        Assert.Equal(30000.0 / 1001, caps.GetFraction("framerate")!.Value, 6);
    }

    [Fact]
    public void Parse_stops_at_the_first_structure_and_tolerates_garbage()
    {
        var caps = CapsStructure.Parse("video/x-raw, width=(int)640; video/x-raw, width=(int)320");
        Assert.Equal(640, caps.GetInt("width"));

        var garbage = CapsStructure.Parse("not caps at all, =, x=(int)notanumber");
        Assert.Null(garbage.GetInt("x"));
        Assert.Null(garbage.GetFraction("framerate"));
    }
}
