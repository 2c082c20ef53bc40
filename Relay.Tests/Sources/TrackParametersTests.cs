using Relay.Media;
using Relay.Server.Sources;

namespace Relay.Tests.Sources;

/// <summary>What Relay does on H.264 ingest that h264parse did: keyframes, parameter sets before every keyframe.</summary>
public sealed class TrackParametersTests
{
    private static readonly byte[] Sps = Convert.FromHexString("6742c015d90141fb016a0c0c0d4a000003000200000300791e2c5c90");
    private static readonly byte[] Pps = Convert.FromHexString("68cb8cb2");
    private static readonly TrackInfo Video = new() { Index = 0, Kind = MediaKind.Video, Codec = Codec.H264, ClockRate = 90000, Sps = Sps, Pps = Pps };

    [Theory]
    [InlineData(new byte[] { 0, 0, 0, 1, 0x09, 0xF0, 0, 0, 0, 1, 0x06, 5, 1, 0, 0, 0, 1, 0x65, 0x88 }, true)] // AUD, SEI, IDR
    [InlineData(new byte[] { 0, 0, 0, 1, 0x67, 1, 0, 0, 1, 0x68, 2, 0, 0, 1, 0x65, 0x88 }, true)] // SPS, PPS, IDR
    [InlineData(new byte[] { 0, 0, 0, 1, 0x06, 5, 1, 0, 0, 0, 1, 0x41, 0x9A }, false)] // SEI, non-IDR slice
    [InlineData(new byte[] { 0, 0, 0, 1, 0x67, 1 }, false)] // parameter sets alone
    [InlineData(new byte[] { 1, 2, 3 }, false)] // no start code
    [InlineData(new byte[] { 0, 0, 0, 1, 0x06, 6, 1, 0x84, 0x80, 0, 0, 0, 1, 0x41, 0x9A }, true)] // recovery point SEI, non-IDR slice
    [InlineData(new byte[] { 0, 0, 0, 1, 0x06, 5, 3, 0, 0, 3, 1, 6, 1, 0x84, 0x80, 0, 0, 0, 1, 0x41, 0x9A }, true)] // user data (an escaped 00 00 01 in it), then a recovery point
    [InlineData(new byte[] { 0, 0, 0, 1, 0x06, 5, 4, 6, 6, 6, 6, 0x80, 0, 0, 0, 1, 0x41, 0x9A }, false)] // 6s inside another message's payload
    [InlineData(new byte[] { 0, 0, 0, 1, 0x06, 0xFF, 0xFF, 0, 0, 0, 1, 0x41, 0x9A }, false)] // truncated SEI
    [InlineData(new byte[] { 0, 0, 0, 1, 0x41, 0x9A, 0, 0, 0, 1, 0x06, 6, 1, 0x84, 0x80 }, false)] // a recovery point after the first slice is not this picture's
    public void An_h264_access_unit_is_a_keyframe_when_its_first_slice_is_idr_or_a_recovery_point_precedes_it(byte[] unit, bool keyframe)
    {
        Assert.Equal(keyframe, TrackParameters.IsH264Keyframe(unit));
    }

    [Fact]
    public void A_keyframe_without_parameter_sets_gets_the_tracks_in_front_and_keeps_its_times()
    {
        byte[] idr = [0, 0, 0, 1, 0x65, 0x88, 0x84];
        var unit = AccessUnit.Copy(0, idr, isKeyframe: true, TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(1.96));

        var complete = TrackParameters.WithParameterSets(Video, unit);

        Assert.NotNull(complete);
        Assert.Equal([0, 0, 0, 1, .. Sps, 0, 0, 0, 1, .. Pps, .. idr], complete.Data.ToArray());
        Assert.True(complete.IsKeyframe);
        Assert.Equal((unit.Pts, unit.Dts), (complete.Pts, complete.Dts));
        complete.Release();
        unit.Release();
    }

    [Fact]
    public void A_keyframe_that_has_its_parameter_sets_a_delta_frame_or_an_unknown_sps_is_left_alone()
    {
        var withSets = AccessUnit.Copy(0, [0, 0, 0, 1, .. Sps, 0, 0, 0, 1, .. Pps, 0, 0, 0, 1, 0x65, 0x88], isKeyframe: true, TimeSpan.Zero);
        var delta = AccessUnit.Copy(0, [0, 0, 0, 1, 0x41, 0x9A], isKeyframe: false, TimeSpan.Zero);
        var idr = AccessUnit.Copy(0, [0, 0, 0, 1, 0x65, 0x88], isKeyframe: true, TimeSpan.Zero);

        Assert.Null(TrackParameters.WithParameterSets(Video, withSets));
        Assert.Null(TrackParameters.WithParameterSets(Video, delta));
        Assert.Null(TrackParameters.WithParameterSets(Video with { Sps = default }, idr));
        withSets.Release();
        delta.Release();
        idr.Release();
    }
}
