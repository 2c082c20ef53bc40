using Relay.Server.Codecs;

namespace Relay.Tests.Codecs;

public sealed class H264Tests
{
    // SPS/PPS produced by x264 (GStreamer x264enc), checked against ffprobe.
    private const string High1080p = "67640028acd940780227e5c05a808080a0000003002000000791e30632c0";
    private const string Baseline240p = "6742c015d90141fb016a0c0c0d4a000003000200000300791e2c5c90";
    private const string High444At360p = "67f4001e919b281405ff1380b506060640000003004000000f23c58b6580";

    [Theory]
    [InlineData(High1080p, 1920, 1080, "640028")]
    [InlineData(Baseline240p, 320, 240, "42C015")]
    [InlineData(High444At360p, 640, 360, "F4001E")]
    public void ParseSps_gives_the_cropped_picture_size_and_profile(string hex, int width, int height, string profileLevelId)
    {
        var sps = H264.ParseSps(Convert.FromHexString(hex));

        Assert.Equal((width, height), (sps.Width, sps.Height));
        Assert.Equal(profileLevelId, sps.ProfileLevelId, ignoreCase: true);
    }

    [Theory]
    [InlineData(High1080p)]
    [InlineData(Baseline240p)]
    [InlineData(High444At360p)]
    public void ParseSps_gives_the_frame_rate_of_the_vui_timing(string hex)
    {
        var sps = H264.ParseSps(Convert.FromHexString(hex));

        Assert.Equal(30, sps.FrameRate); // encoded at videotestsrc's default 30/1 (the ingest tests check a 25 fps camera)
    }

    [Fact]
    public void ParseSps_without_vui_timing_has_no_frame_rate()
    {
        // Baseline 320x240 with vui_parameters_present_flag cleared: the last byte before the VUI, its flag bit
        // dropped, and the rbsp stop bit after it.
        var sps = H264.ParseSps(Convert.FromHexString("6742c015d90141f9"));

        Assert.Equal((320, 240), (sps.Width, sps.Height));
        Assert.Null(sps.FrameRate);
    }

    [Fact]
    public void ParseSps_rejects_a_pps()
    {
        Assert.Throws<FormatException>(() => H264.ParseSps(Convert.FromHexString("68ebecb22c")));
    }

    [Fact]
    public void ParseSps_rejects_a_truncated_sps()
    {
        Assert.Throws<FormatException>(() => H264.ParseSps(Convert.FromHexString(High1080p).AsSpan(0, 6)));
    }
}
