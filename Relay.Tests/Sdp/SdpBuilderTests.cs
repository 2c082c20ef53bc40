using Relay.Media;
using Relay.Server.Sdp;
using Relay.Server.Sources;

namespace Relay.Tests.Sdp;

public sealed class SdpBuilderTests
{
    private static readonly byte[] Sps = Convert.FromHexString("6742c015d90141fb016a0c0c0d4a000003000200000300791e2c5c90");
    private static readonly byte[] Pps = Convert.FromHexString("68cb8cb2");

    [Fact]
    public void Every_codec_is_described_and_the_result_reads_back_as_the_same_tracks()
    {
        TrackInfo[] tracks =
        [
            new() { Index = 0, Kind = MediaKind.Video, Codec = Codec.H264, ClockRate = 90000, Sps = Sps, Pps = Pps, FrameRate = 25 },
            new() { Index = 1, Kind = MediaKind.Audio, Codec = Codec.Aac, ClockRate = 48000, Channels = 2, AudioConfig = new byte[] { 0x11, 0x90 } },
            new() { Index = 2, Kind = MediaKind.Audio, Codec = Codec.Pcmu, ClockRate = 8000, Channels = 1 },
            new() { Index = 3, Kind = MediaKind.Application, Codec = Codec.Passthrough, ClockRate = 90000, EncodingName = "vnd.onvif.metadata" },
            new() { Index = 4, Kind = MediaKind.Audio, Codec = Codec.Opus, ClockRate = 48000, Channels = 2 },
        ];

        var sdp = SdpBuilder.Build("cam1", tracks, 42, 1, "127.0.0.1");
        var parsed = SdpTracks.Map(sdp);

        Assert.StartsWith("v=0\r\no=- 42 1 IN IP4 127.0.0.1\r\ns=cam1\r\n", sdp, StringComparison.Ordinal);
        Assert.Contains("a=fmtp:96 packetization-mode=1;profile-level-id=42C015;sprop-parameter-sets=Z0LAFdkBQfsBagwMDUoAAAMAAgAAAwB5HixckA==,aMuMsg==\r\n", sdp, StringComparison.Ordinal);
        Assert.Contains("m=audio 0 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n", sdp, StringComparison.Ordinal);
        Assert.Contains("a=rtpmap:99 vnd.onvif.metadata/90000\r\n", sdp, StringComparison.Ordinal);
        Assert.Equal(tracks.Select(t => t.Codec), parsed.Select(t => t.Codec));
        Assert.Equal((320, 240), (parsed[0].Width, parsed[0].Height));
        Assert.Equal(tracks[1].AudioConfig.ToArray(), parsed[1].AudioConfig.ToArray());
        Assert.Equal(2, parsed[1].Channels);
        Assert.Equal(Enumerable.Range(0, 5).Select(SdpBuilder.TrackControl), sdp.Split("\r\n").Where(l => l.StartsWith("a=control:track", StringComparison.Ordinal)).Select(l => l["a=control:".Length..]));
    }

    [Fact]
    public void A_passthrough_track_keeps_the_cameras_fmtp_and_static_payload_type()
    {
        var jpeg = new TrackInfo { Index = 0, Kind = MediaKind.Video, Codec = Codec.Passthrough, ClockRate = 90000, PayloadType = 26, EncodingName = "JPEG" };
        var klv = new TrackInfo { Index = 1, Kind = MediaKind.Application, Codec = Codec.Passthrough, ClockRate = 90000, EncodingName = "SMPTE336M", Fmtp = "foo=bar" };

        var sdp = SdpBuilder.Build("cam1", [jpeg, klv], 1, 1, "::1");

        Assert.Contains("IN IP6 ::1", sdp, StringComparison.Ordinal);
        Assert.Contains("m=video 0 RTP/AVP 26\r\n", sdp, StringComparison.Ordinal);
        Assert.Contains("a=fmtp:97 foo=bar\r\n", sdp, StringComparison.Ordinal);
    }
}
