using System.Buffers.Binary;
using Relay.Media;
using Relay.Tests.Fixtures;
using Xunit.Abstractions;

namespace Relay.Tests.Rtsp;

/// <summary>Real RTSP clients (ffprobe, ffmpeg, gst-launch rtspsrc) reading a fake camera through the relay.</summary>
public sealed class RtspClientTests(ITestOutputHelper output) : InteropTestBase(output)
{
    [Theory]
    [InlineData("tcp")]
    [InlineData("udp")]
    public async Task Ffprobe_reports_the_cameras_codec_size_and_frame_rate(string transport)
    {
        await using var camera = await FakeCamera.StartAsync(new FakeCameraOptions { Width = 320, Height = 240, Fps = 25 });
        await using var relay = await StartRelayAsync(camera.Url);

        var streams = await Clients.ProbeAsync(relay.RtspUrl("cam1"), transport);

        var video = Assert.Single(streams);
        Assert.Equal("h264", video["codec_name"]);
        Assert.Equal(("320", "240"), (video["width"], video["height"]));
        Assert.Equal("25/1", video["r_frame_rate"]);
    }

    [Theory]
    [InlineData("tcp")]
    [InlineData("udp")]
    public async Task Ffmpeg_receives_every_frame_for_several_seconds_without_errors(string transport)
    {
        await using var camera = await FakeCamera.StartAsync();
        await using var relay = await StartRelayAsync(camera.Url);

        var read = await Clients.ReadWithFfmpegAsync(relay.RtspUrl("cam1"), transport, seconds: 4);

        Assert.True(read.ExitCode == 0, read.Result.Stderr);
        Assert.Empty(read.Problems);
        Assert.InRange(read.Frames, 95, 105); // 4 s at 25 fps
    }

    [Theory]
    [InlineData("tcp")]
    [InlineData("udp")]
    public async Task Gstreamer_rtspsrc_receives_frames(string transport)
    {
        await using var camera = await FakeCamera.StartAsync();
        await using var relay = await StartRelayAsync(camera.Url);

        var result = await Clients.ReadWithGstreamerAsync(relay.RtspUrl("cam1"), transport, buffers: 100);

        Assert.True(Clients.GstreamerSucceeded(result.ExitCode, result.Stderr), result.Stderr + result.Stdout);
    }

    [Theory]
    [InlineData("tcp", "aac", "aac")]
    [InlineData("udp", "aac", "aac")]
    [InlineData("tcp", "pcmu", "pcm_mulaw")]
    [InlineData("tcp", "opus", "opus")]
    public async Task A_camera_with_audio_is_relayed_with_both_tracks(string transport, string audio, string ffmpegCodec)
    {
        await using var camera = await FakeCamera.StartAsync(new FakeCameraOptions { Audio = audio });
        await using var relay = await StartRelayAsync(camera.Url);

        var streams = await Clients.ProbeAsync(relay.RtspUrl("cam1"), transport);
        var read = await Clients.ReadWithFfmpegAsync(relay.RtspUrl("cam1"), transport, seconds: 3);

        Assert.Equal(["h264", ffmpegCodec], streams.Select(s => s["codec_name"]));
        Assert.True(read.ExitCode == 0, read.Result.Stderr);
        Assert.Empty(read.Problems);
        Assert.Matches(@"audio:\s*[1-9]\d*(\.\d+)?[kKM]i?B", read.Result.Stderr); // ffmpeg's summary: audio bytes written
    }

    [Fact]
    public async Task H265_and_a_passthrough_track_are_relayed()
    {
        await using var camera = await FakeCamera.StartAsync(new FakeCameraOptions { VideoCodec = "h265", PassthroughTrack = true });
        await using var relay = await StartRelayAsync(camera.Url);

        var streams = await Clients.ProbeAsync(relay.RtspUrl("cam1"), "tcp");

        Assert.Equal(["hevc", "pcm_s16be"], streams.Select(s => s["codec_name"]));
        Assert.Equal("320", streams[0]["width"]);
        Assert.Equal("8000", streams[1]["sample_rate"]);
    }

    [Fact]
    public async Task Fifty_readers_each_receive_every_frame_while_the_camera_sees_one_session()
    {
        await using var camera = await FakeCamera.StartAsync();
        await using var relay = await StartRelayAsync(camera.Url);
        await Clients.ProbeAsync(relay.RtspUrl("cam1"), "tcp"); // the stream is up

        var readers = Enumerable.Range(0, 50).Select(_ => Clients.ReadWithFfmpegAsync(relay.RtspUrl("cam1"), "tcp", seconds: 6)).ToList();
        await Eventually.WaitAsync(() => relay.Streams.TryGetStream("cam1", out var r) && relay.App.Services.GetService(typeof(Relay.Server.Rtsp.RtspServer)) is Relay.Server.Rtsp.RtspServer s && s.Sessions.Count(x => x.IsPlaying) == 50, TimeSpan.FromSeconds(30), "50 playing sessions");
        var cameraSessions = camera.SessionCount;
        var results = await Task.WhenAll(readers);

        Assert.Equal(1, cameraSessions);
        Assert.All(results, r =>
        {
            Assert.True(r.ExitCode == 0, r.Result.Stderr);
            Assert.Empty(r.Problems);
            Assert.InRange(r.Frames, 145, 175); // 6 s at 25 fps; ffmpeg's -t window is in stream time, so its count varies by a few frames
        });
    }

    [Theory]
    [InlineData("tcp")]
    [InlineData("udp")]
    public async Task The_first_video_packets_a_new_reader_receives_are_sps_pps_then_a_keyframe(string transport)
    {
        await using var camera = await FakeCamera.StartAsync();
        await using var relay = await StartRelayAsync(camera.Url);
        await Clients.ProbeAsync(relay.RtspUrl("cam1"), "tcp");

        // Several readers join at different points of the GOP; each must start at SPS, PPS, IDR, and the cached GOP
        // (rebuilt from the stream's access units for each join) must run on into the live packets without a gap.
        for (var i = 0; i < 3; i++)
        {
            var packets = await Clients.FirstVideoPacketsAsync(relay.RtspUrl("cam1"), transport, packets: 120);

            Assert.Equal([7, 8, 5], Clients.NalTypes(packets, 3));
            Assert.InRange(packets.Count, 100, 120); // identity eos-after ends the capture one packet short
            var sequences = packets.Select(p => BinaryPrimitives.ReadUInt16BigEndian(p.AsSpan(2))).ToList();
            Assert.All(sequences.Zip(sequences.Skip(1)), p => Assert.Equal((ushort)(p.First + 1), p.Second));
            await Task.Delay(TimeSpan.FromMilliseconds(330)); // the scenario: the next reader joins later in the GOP
        }
    }

    [Fact]
    public async Task A_reader_of_an_intra_refresh_camera_starts_at_a_recovery_point()
    {
        // Such a camera sends one IDR picture when it starts and then only recovery points: a reader who joins later
        // must start at the last recovery point (SPS, PPS, the recovery point SEI, a non-IDR slice), not wait for an IDR.
        const int refresh = 10;
        await using var camera = await FakeCamera.StartAsync(new FakeCameraOptions { IntraRefresh = true, Gop = refresh });
        await using var relay = await StartRelayAsync(camera.Url);
        await Eventually.WaitAsync(
            () => relay.Streams.TryGetStream("cam1", out var stream) && stream.Hub.FramesOf(MediaKind.Video) > 3 * refresh,
            TimeSpan.FromSeconds(20),
            "the relay to receive three refresh periods of the camera");

        var packets = await Clients.FirstVideoPacketsAsync(relay.RtspUrl("cam1"), "tcp", packets: 60);

        Assert.Equal([7, 8, 6, 1], Clients.NalTypes(packets, 4));
        var sei = packets.First(p => (p[12] & 0x1F) == 6);
        Assert.Equal(6, sei[13]); // the SEI's first message is a recovery point
        Assert.InRange(packets.Count, 50, 60);
    }

    private async Task<RelayHost> StartRelayAsync(Uri source) =>
        await RelayHost.StartAsync(new Dictionary<string, string?> { ["Relay:Streams:cam1:Source"] = source.ToString() }, Logs);
}
