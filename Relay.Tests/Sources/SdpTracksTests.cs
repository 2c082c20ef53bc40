using Relay.Media;
using Relay.Server.Sources;

namespace Relay.Tests.Sources;

public sealed class SdpTracksTests
{
    // The shape of an ONVIF camera's SDP: H.264 with sprop, AAC, G.711 by static payload type, and metadata.
    private const string CameraSdp =
        "v=0\r\no=- 0 0 IN IP4 10.0.0.5\r\ns=Media Presentation\r\nt=0 0\r\n" +
        "m=video 0 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\n" +
        "a=fmtp:96 packetization-mode=1;profile-level-id=42C015;sprop-parameter-sets=Z0LAFdkBQfsBagwMDUoAAAMAAgAAAwB5HixckA==,aMuMsg==\r\n" +
        "a=framerate:25\r\na=control:trackID=1\r\n" +
        "m=audio 0 RTP/AVP 97\r\na=rtpmap:97 MPEG4-GENERIC/48000/2\r\n" +
        "a=fmtp:97 streamtype=5;profile-level-id=1;mode=AAC-hbr;sizelength=13;indexlength=3;indexdeltalength=3;config=1190\r\n" +
        "a=control:trackID=2\r\n" +
        "m=audio 0 RTP/AVP 0\r\na=control:trackID=3\r\n" +
        "m=application 0 RTP/AVP 107\r\na=rtpmap:107 vnd.onvif.metadata/90000\r\na=control:trackID=4\r\n";

    [Fact]
    public void Map_gives_one_track_per_media_section_in_order()
    {
        var tracks = SdpTracks.Map(CameraSdp);

        Assert.Equal([Codec.H264, Codec.Aac, Codec.Pcmu, Codec.Passthrough], tracks.Select(t => t.Codec));
        Assert.Equal([0, 1, 2, 3], tracks.Select(t => t.Index));
        Assert.Equal([MediaKind.Video, MediaKind.Audio, MediaKind.Audio, MediaKind.Application], tracks.Select(t => t.Kind));
    }

    [Fact]
    public void H264_sprop_parameter_sets_give_the_decoder_configuration_and_size()
    {
        var video = SdpTracks.Map(CameraSdp)[0];

        Assert.True(video.HasDecoderConfiguration);
        Assert.Equal((320, 240), (video.Width, video.Height));
        Assert.Equal(25, video.FrameRate);
        Assert.Equal(0x67, video.Sps.Span[0]);
        Assert.Equal(0x68, video.Pps.Span[0]);
    }

    [Fact]
    public void Aac_config_gives_rate_and_channels()
    {
        var audio = SdpTracks.Map(CameraSdp)[1];

        Assert.Equal(new byte[] { 0x11, 0x90 }, audio.AudioConfig.ToArray());
        Assert.Equal(48000, audio.ClockRate);
        Assert.Equal(2, audio.Channels);
    }

    [Fact]
    public void A_static_payload_type_needs_no_rtpmap()
    {
        var g711 = SdpTracks.Map(CameraSdp)[2];

        Assert.Equal(8000, g711.ClockRate);
        Assert.Equal(1, g711.Channels);
    }

    [Fact]
    public void An_unknown_track_keeps_the_cameras_own_rtpmap()
    {
        var metadata = SdpTracks.Map(CameraSdp)[3];

        Assert.Equal("vnd.onvif.metadata", metadata.EncodingName);
        Assert.Equal(90000, metadata.ClockRate);
        Assert.True(metadata.HasDecoderConfiguration);
    }

    [Fact]
    public void Mpeg4_generic_that_is_not_aac_is_relayed_as_is()
    {
        var sdp = "v=0\r\nm=audio 0 RTP/AVP 97\r\na=rtpmap:97 mpeg4-generic/44100\r\na=fmtp:97 mode=CELP-cbr;config=00\r\n";

        Assert.Equal(Codec.Passthrough, SdpTracks.Map(sdp)[0].Codec);
    }

    [Fact]
    public void Malformed_sdp_gives_no_tracks_instead_of_failing()
    {
        Assert.Empty(SdpTracks.Map("this is not sdp\r\nm=\r\nx"));
        var track = Assert.Single(SdpTracks.Map("m=video 0 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\na=fmtp:96 sprop-parameter-sets=!!notbase64,\r\n"));
        Assert.False(track.HasDecoderConfiguration);
    }
}
