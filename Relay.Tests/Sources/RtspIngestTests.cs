using Relay.Configuration;
using Relay.Media;
using Relay.Server.Codecs;
using Relay.Server.Hosting;
using Relay.Server.Sources;
using Relay.Server.Streams;
using Relay.Tests.Fixtures;
using Xunit.Abstractions;

namespace Relay.Tests.Sources;

/// <summary>Pulling a real RTSP camera (gst-rtsp-server) into access units.</summary>
public sealed class RtspIngestTests(ITestOutputHelper output) : InteropTestBase(output)
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);

    [Theory]
    [InlineData("tcp")]
    [InlineData("udp")]
    public async Task H264_units_arrive_at_the_camera_frame_rate_with_its_keyframe_cadence(string transport)
    {
        await using var camera = await FakeCamera.StartAsync(new FakeCameraOptions { Width = 320, Height = 240, Fps = 25, Gop = 25 });
        await using var relay = await StartRelayAsync(camera.Url, transport);
        var stream = GetStream(relay, "cam1");
        using var reader = stream.OpenReader(StartAt.Live);

        var units = await ReceivedUnit.CollectAsync(reader, u => u.Count(x => x.IsKeyframe) >= 4, Timeout);

        var video = units.Where(u => u.Track == 0).ToList();
        Assert.True(video[0].IsKeyframe, "a reader starts at a keyframe");
        var keyframes = video.Select((u, i) => (u, i)).Where(p => p.u.IsKeyframe).Select(p => p.i).ToList();
        Assert.All(keyframes.Zip(keyframes.Skip(1)), p => Assert.Equal(25, p.Second - p.First));
        var span = video[keyframes[^1]].Dts - video[keyframes[0]].Dts;
        var fps = (keyframes[^1] - keyframes[0]) / span.TotalSeconds;
        Assert.InRange(fps, 24.0, 26.0);

        var track = stream.Tracks[0];
        Assert.Equal(Codec.H264, track.Codec);
        Assert.Equal((320, 240), (track.Width, track.Height));
        Assert.Equal(25, track.FrameRate);
        var sps = H264.ParseSps(track.Sps.Span);
        Assert.Equal((320, 240), (sps.Width, sps.Height));
        Assert.False(track.Pps.IsEmpty);
    }

    [Theory]
    [InlineData("tcp")]
    [InlineData("udp")]
    public async Task Timestamps_follow_the_cameras_rtp_clock_not_packet_arrival(string transport)
    {
        // The camera stamps frames exactly 40 ms apart; arrival times over loopback vary by far more than a tick.
        await using var camera = await FakeCamera.StartAsync(new FakeCameraOptions { Width = 320, Height = 240, Fps = 25, Gop = 25 });
        await using var relay = await StartRelayAsync(camera.Url, transport);
        using var reader = GetStream(relay, "cam1").OpenReader(StartAt.Live);

        var units = await ReceivedUnit.CollectAsync(reader, u => u.Count(x => x.Track == 0) >= 50, Timeout);

        var video = units.Where(u => u.Track == 0).ToList();
        Assert.All(video.Zip(video.Skip(1)), p => Assert.InRange((p.Second.Dts - p.First.Dts).TotalMilliseconds, 39.98, 40.02));
    }

    [Fact]
    public async Task Every_keyframe_carries_its_parameter_sets_in_band()
    {
        await using var camera = await FakeCamera.StartAsync();
        await using var relay = await StartRelayAsync(camera.Url);
        using var reader = GetStream(relay, "cam1").OpenReader(StartAt.Live);

        var units = await ReceivedUnit.CollectAsync(reader, u => u.Count(x => x.IsKeyframe) >= 2, Timeout);

        foreach (var keyframe in units.Where(u => u.IsKeyframe))
        {
            var types = new List<int>();
            foreach (var nal in AnnexB.Enumerate(keyframe.Data))
            {
                types.Add(H264.NalType(nal[0]));
            }

            var idr = types.IndexOf(H264.NalIdr);
            Assert.True(idr > 0, $"keyframe NAL types: {string.Join(",", types)}");
            Assert.Contains(H264.NalSps, types[..idr]);
            Assert.Contains(H264.NalPps, types[..idr]);
        }
    }

    [Theory]
    [InlineData("aac", Codec.Aac, 48000)]
    [InlineData("pcmu", Codec.Pcmu, 8000)]
    [InlineData("opus", Codec.Opus, 48000)]
    public async Task An_audio_track_arrives_when_the_camera_has_one(string audio, Codec codec, int clockRate)
    {
        await using var camera = await FakeCamera.StartAsync(new FakeCameraOptions { Audio = audio });
        await using var relay = await StartRelayAsync(camera.Url);
        var stream = GetStream(relay, "cam1");
        using var reader = stream.OpenReader(StartAt.Live);

        var units = await ReceivedUnit.CollectAsync(reader, u => u.Count(x => x.Track == 1) >= 20, Timeout);

        var track = stream.Tracks[1];
        Assert.Equal(MediaKind.Audio, track.Kind);
        Assert.Equal(codec, track.Codec);
        Assert.Equal(clockRate, track.ClockRate);
        Assert.True(track.HasDecoderConfiguration);
        var audioUnits = units.Where(u => u.Track == 1).ToList();
        Assert.All(audioUnits, u => Assert.NotEmpty(u.Data));
        Assert.All(audioUnits.Zip(audioUnits.Skip(1)), p => Assert.True(p.Second.Dts > p.First.Dts));
    }

    [Fact]
    public async Task A_track_Relay_cannot_parse_is_kept_as_rtp_payloads_with_its_rtpmap()
    {
        await using var camera = await FakeCamera.StartAsync(new FakeCameraOptions { PassthroughTrack = true });
        await using var relay = await StartRelayAsync(camera.Url);
        var stream = GetStream(relay, "cam1");
        using var reader = stream.OpenReader(StartAt.Live);

        var units = await ReceivedUnit.CollectAsync(reader, u => u.Count(x => x.Track == 1) >= 20, Timeout);

        var track = stream.Tracks[1];
        Assert.Equal(Codec.Passthrough, track.Codec);
        Assert.Equal("L16", track.EncodingName);
        Assert.Equal(8000, track.ClockRate);
        Assert.All(units.Where(u => u.Track == 1), u => Assert.Equal(320, u.Data.Length)); // 160 samples × 2 bytes
    }

    [Fact]
    public async Task H265_units_arrive_with_their_picture_size()
    {
        await using var camera = await FakeCamera.StartAsync(new FakeCameraOptions { VideoCodec = "h265", Width = 320, Height = 240 });
        await using var relay = await StartRelayAsync(camera.Url);
        var stream = GetStream(relay, "cam1");
        using var reader = stream.OpenReader(StartAt.Live);

        await ReceivedUnit.CollectAsync(reader, u => u.Count(x => x.IsKeyframe) >= 2, Timeout);

        var track = stream.Tracks[0];
        Assert.Equal(Codec.H265, track.Codec);
        Assert.True(track.HasDecoderConfiguration);
        Assert.Equal((320, 240), (track.Width, track.Height));
    }

    [Fact]
    public async Task A_camera_restart_starts_a_new_epoch_whose_timestamps_continue()
    {
        await using var camera = await FakeCamera.StartAsync();
        await using var relay = await StartRelayAsync(camera.Url);
        var stream = GetStream(relay, "cam1");
        using var reader = stream.OpenReader(StartAt.Live);
        var before = await ReceivedUnit.CollectAsync(reader, u => u.Count(x => x.IsKeyframe) >= 2, Timeout);

        await camera.PowerOffAsync();
        await Eventually.WaitAsync(() => !stream.IsOnline, Timeout, "the relay to notice the camera is gone");
        var outage = TimeSpan.FromSeconds(3);
        await Task.Delay(outage); // the scenario: the camera stays off for a few seconds
        await camera.PowerOnAsync();
        var after = await ReceivedUnit.CollectAsync(reader, u => u.Count(x => x.IsKeyframe) >= 2, Timeout);

        Assert.Equal(2, stream.Epochs);
        var all = before.Concat(after).Where(u => u.Track == 0).ToList();
        Assert.All(all.Zip(all.Skip(1)), p => Assert.True(p.Second.Dts > p.First.Dts, $"DTS {p.Second.Dts} after {p.First.Dts}"));

        // The new epoch begins where the timeline jumps by the outage (frames the camera sent before it went off may
        // still have been queued for the reader when the first collection stopped).
        var first = Enumerable.Range(1, all.Count - 1).First(i => all[i].Dts - all[i - 1].Dts >= outage);
        Assert.True(all[first].IsKeyframe, "the new epoch starts at a keyframe");
        Assert.InRange(all[first].Dts - all[first - 1].Dts, outage, outage + TimeSpan.FromSeconds(15));
    }

    [Fact]
    public async Task A_tcp_connection_always_stops_while_media_is_flowing()
    {
        // Over TCP rtspsrc's own thread carries each packet to the appsink; going down through PAUSED it must never be
        // left waiting there for a preroll while rtspsrc waits for it (that once hung one stop in a few hundred).
        await using var camera = await FakeCamera.StartAsync(new FakeCameraOptions { Width = 640, Height = 360, Fps = 50, Gop = 10 });
        var config = new StreamConfig { Name = "cam1", Source = camera.Url };
        var source = new RtspSource(config, TimeProvider.System, Logs.CreateLogger("ingest"));
        var stopped = 0;
        for (var attempt = 0; attempt < 150 && stopped < 80; attempt++)
        {
            var sink = new CountingSink();
            var connection = source.Open(sink);
            try
            {
                // The fake camera sometimes refuses a connection made while it still closes the previous one.
                await Task.WhenAny(connection.Connected, sink.Units.Task).WaitAsync(Timeout);
                if (connection.Connected.IsCompletedSuccessfully)
                {
                    await sink.Units.Task.WaitAsync(Timeout); // frames are flowing through the appsink
                    stopped++;
                }
            }
            finally
            {
                await connection.DisposeAsync().AsTask().WaitAsync(Timeout);
            }
        }

        Assert.Equal(80, stopped);
    }

    [Fact]
    public async Task A_test_pattern_source_produces_h264()
    {
        await using var relay = await RelayHost.StartAsync(
            new Dictionary<string, string?> { ["Relay:Streams:demo:Source"] = "test:size=320x240&fps=25&gop=25&bitrate=300" },
            Logs);
        var stream = GetStream(relay, "demo");
        using var reader = stream.OpenReader(StartAt.Live);

        var units = await ReceivedUnit.CollectAsync(reader, u => u.Count(x => x.IsKeyframe) >= 2, Timeout);

        Assert.True(units[0].IsKeyframe);
        Assert.Equal((320, 240), (stream.Tracks[0].Width, stream.Tracks[0].Height));
        Assert.True(stream.Tracks[0].HasDecoderConfiguration);
    }

    private async Task<RelayHost> StartRelayAsync(Uri source, string transport = "tcp") =>
        await RelayHost.StartAsync(
            new Dictionary<string, string?>
            {
                ["Relay:Streams:cam1:Source"] = source.ToString(),
                ["Relay:Streams:cam1:Transport"] = transport,
                ["Relay:Streams:cam1:RetryDelay"] = "200ms",
                ["Relay:Streams:cam1:MaxRetryDelay"] = "1s",
            },
            Logs);

    private static StreamHub GetStream(RelayHost relay, string name)
    {
        Assert.True(relay.Streams.TryGetStream(name, out var runtime));
        return runtime.Hub;
    }

    private sealed class CountingSink : IMediaSink
    {
        private int _count;

        public TaskCompletionSource Units { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public void OnEpochStarted(IReadOnlyList<TrackInfo> tracks)
        {
        }

        public void OnTrackChanged(TrackInfo track)
        {
        }

        public void OnAccessUnit(AccessUnit unit)
        {
            unit.Release();
            if (Interlocked.Increment(ref _count) >= 5)
            {
                Units.TrySetResult();
            }
        }

        public void OnEpochEnded()
        {
        }
    }
}
