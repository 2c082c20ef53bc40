using System.Net.Http.Json;
using Microsoft.Extensions.DependencyInjection;
using Relay.Api;
using Relay.Server.Metrics;
using Relay.Server.Push;
using Relay.Tests.Fixtures;
using Xunit.Abstractions;

namespace Relay.Tests.Push;

/// <summary>
/// Restreaming: a camera pulled once is pushed to a real RTMP server (nginx with libnginx-mod-rtmp) and read back with
/// ffprobe/ffmpeg; the push rides out an RTMP server outage and a camera outage, says why when the server refuses it,
/// and never shows its stream key.
/// </summary>
public sealed class PushTests(ITestOutputHelper output) : InteropTestBase(output)
{
    private const string StreamKey = "sk-9f2c7e51a0";
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(45);

    [Fact]
    public async Task A_camera_is_pushed_over_rtmp_video_as_is_with_aac_audio_and_ffmpeg_copies_it_without_errors()
    {
        await using var camera = await FakeCamera.StartAsync(new FakeCameraOptions { Width = 1280, Height = 720, Audio = "aac" });
        await using var rtmp = await NginxRtmp.StartAsync();
        await using var relay = await StartRelayAsync(camera, rtmp);

        await WaitForStateAsync(relay, "pushing");
        var probed = await ProbeRtmpAsync(rtmp);
        var copied = await ExternalProcess.RunAsync(
            "ffmpeg", ["-hide_banner", "-nostats", "-loglevel", "level+warning", "-i", rtmp.Url(StreamKey).ToString(), "-t", "10", "-map", "0", "-c", "copy", "-f", "null", "-"], TimeSpan.FromSeconds(60));
        Output.WriteLine("ffmpeg: " + copied.Stderr);
        var status = await PushStatusAsync(relay);
        var metrics = relay.App.Services.GetRequiredService<RelayMetrics>();
        using var http = new HttpClient { BaseAddress = relay.HttpBase };
        var scraped = await http.GetStringAsync("/metrics");

        var video = Assert.Single(probed, s => s["codec_type"] == "video");
        Assert.Equal(("h264", "1280", "720"), (video["codec_name"], video["width"], video["height"]));
        Assert.Equal("aac", Assert.Single(probed, s => s["codec_type"] == "audio")["codec_name"]);
        Assert.True(copied.ExitCode == 0, copied.Stderr);
        Assert.DoesNotContain("[error]", copied.Stderr, StringComparison.Ordinal);
        Assert.Equal("pushing", status.State);
        Assert.Equal($"rtmp://127.0.0.1:{rtmp.Port}/live/***", status.Url);
        Assert.True(status.Bytes > 100_000, $"{status.Bytes} bytes pushed");
        Assert.Contains("relay_push_up{stream=\"cam\",target=\"live\"} 1", scraped, StringComparison.Ordinal);
        AssertKeyNowhere(scraped + await http.GetStringAsync("/api/v1/streams"));
    }

    [Fact]
    public async Task G711_and_opus_audio_are_pushed_as_aac_and_h265_is_refused_for_rtmp_with_a_clear_error()
    {
        await using var camera = await FakeCamera.StartAsync(new FakeCameraOptions { Audio = "pcmu" });
        await using var opus = await FakeCamera.StartAsync(new FakeCameraOptions { Audio = "opus" });
        await using var hevc = await FakeCamera.StartAsync(new FakeCameraOptions { VideoCodec = "h265" });
        await using var rtmp = await NginxRtmp.StartAsync();
        var settings = Settings(camera, rtmp);
        settings["Relay:Streams:opus:Source"] = opus.Url.ToString();
        settings["Relay:Streams:opus:Push:live:Url"] = rtmp.Url("opus").ToString();
        settings["Relay:Streams:hevc:Source"] = hevc.Url.ToString();
        settings["Relay:Streams:hevc:Push:live:Url"] = rtmp.Url("hevc").ToString();
        await using var relay = await RelayHost.StartAsync(settings, Logs);

        await WaitForStateAsync(relay, "pushing");
        var probed = await ProbeRtmpAsync(rtmp);
        await WaitForStateAsync(relay, "pushing", stream: "opus");
        var probedOpus = await ProbeRtmpAsync(rtmp, "opus");
        var refused = await WaitForStateAsync(relay, "unsupported", stream: "hevc");

        Assert.Equal("aac", Assert.Single(probed, s => s["codec_type"] == "audio")["codec_name"]);
        Assert.Equal("aac", Assert.Single(probedOpus, s => s["codec_type"] == "audio")["codec_name"]);
        Assert.Equal("h264", Assert.Single(probedOpus, s => s["codec_type"] == "video")["codec_name"]);
        Assert.Contains("H.265 cannot be pushed over RTMP", refused.LastError, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_push_comes_back_after_an_rtmp_server_outage_and_a_camera_outage_while_rtsp_readers_see_neither()
    {
        await using var camera = await FakeCamera.StartAsync();
        await using var rtmp = await NginxRtmp.StartAsync();
        var settings = Settings(camera, rtmp);
        settings["Relay:Streams:cam:RetryDelay"] = "500ms";
        settings["Relay:Streams:cam:MaxRetryDelay"] = "2s";
        await using var relay = await RelayHost.StartAsync(settings, Logs);
        await WaitForStateAsync(relay, "pushing");
        var reader = Clients.ReadWithFfmpegAsync(relay.RtspUrl("cam"), "tcp", seconds: 6);

        await rtmp.StopAsync();
        var retrying = await WaitForStateAsync(relay, "retrying");
        // A real outage: it lasts until the push has failed to connect three times and backed off to MaxRetryDelay.
        await Eventually.WaitAsync(async () => (await PushStatusAsync(relay)).Reconnects >= 4, Timeout, "three failed reconnections during the outage");
        await rtmp.StartAgainAsync();
        await WaitForStateAsync(relay, "pushing");
        var afterServerOutage = await ProbeRtmpAsync(rtmp);
        var read = await reader;
        var reconnects = (await PushStatusAsync(relay)).Reconnects;

        await camera.PowerOffAsync();
        await WaitForStateAsync(relay, "waiting");
        await camera.PowerOnAsync();
        var bytes = (await PushStatusAsync(relay)).Bytes;
        await Eventually.WaitAsync(async () => (await PushStatusAsync(relay)) is { State: "pushing" } s && s.Bytes > bytes + 50_000, Timeout, "the push to resume after the camera came back");
        var afterCameraOutage = await ProbeRtmpAsync(rtmp);

        Assert.NotNull(retrying.LastError);
        Assert.Single(afterServerOutage, s => s["codec_type"] == "video");
        Assert.True(read.ExitCode == 0, read.Result.Stderr);
        Assert.Empty(read.Problems);
        Assert.InRange(read.Frames, 145, 165);
        Assert.True(reconnects >= 1);
        Assert.Equal(reconnects, (await PushStatusAsync(relay)).Reconnects); // the camera outage did not reconnect the push
        Assert.Single(afterCameraOutage, s => s["codec_type"] == "video");
        AssertKeyNowhere(string.Join('\n', Logs.Lines));
    }

    [Fact]
    public async Task A_refused_push_is_retried_slowly_then_held_off_by_the_breaker_and_the_status_says_why_without_the_key()
    {
        await using var camera = await FakeCamera.StartAsync();
        await using var rtmp = await NginxRtmp.StartAsync(refusePublish: true);
        var settings = Settings(camera, rtmp);
        settings["Relay:Streams:cam:MaxRetryDelay"] = "1s"; // refusals are retried at this pace; the breaker opens after 3
        await using var relay = await RelayHost.StartAsync(settings, Logs);

        var refused = await WaitForStateAsync(relay, "retrying");
        var faulted = await WaitForStateAsync(relay, "faulted");
        using var http = new HttpClient { BaseAddress = relay.HttpBase };
        var api = await http.GetStringAsync("/api/v1/streams/cam");

        Assert.Contains("a wrong stream key", refused.LastError);
        Assert.StartsWith(refused.LastError, faulted.LastError);
        Assert.Contains($"refused {StreamPusher.BreakerThreshold} times in a row; next try in", faulted.LastError);
        Assert.Equal(StreamPusher.BreakerThreshold, faulted.Reconnects); // three refusals, then the open breaker's fast failure: no fourth connection
        Assert.Contains(Logs.Lines, l => l.Contains("refused the push 3 times in a row", StringComparison.Ordinal));
        AssertKeyNowhere(api + string.Join('\n', Logs.Lines));
    }

    [Fact]
    public async Task A_camera_is_pushed_over_rtsp_record_to_a_server_that_is_not_ours_with_the_credentials_of_the_url()
    {
        const string Password = "push-S3cret";
        var file = Path.Combine(Path.GetTempPath(), $"relay-record-{Guid.NewGuid():N}.ts");
        try
        {
            await using var camera = await FakeCamera.StartAsync(new FakeCameraOptions { Width = 640, Height = 360 });
            await using var receiver = await FakeCamera.StartAsync(new FakeCameraOptions { RecordTo = file, Path = "/ingest", User = "pusher", Password = Password });
            var settings = new Dictionary<string, string?>
            {
                ["Relay:Streams:cam:Source"] = camera.Url.ToString(),
                ["Relay:Streams:cam:Push:media-server:Url"] = receiver.UrlWithCredentials().ToString(),
            };
            await using var relay = await RelayHost.StartAsync(settings, Logs);

            var status = await WaitForStateAsync(relay, "pushing");
            await Eventually.WaitAsync(() => File.Exists(file) && new FileInfo(file).Length > 100_000, Timeout, "the receiver to record what Relay pushed");
            var probed = await Clients.ProbeAsync(new Uri(file), transport: null);
            using var http = new HttpClient { BaseAddress = relay.HttpBase };
            var api = await http.GetStringAsync("/api/v1/streams/cam");

            var video = Assert.Single(probed, s => s["codec_type"] == "video");
            Assert.Equal(("h264", "640", "360"), (video["codec_name"], video["width"], video["height"]));
            Assert.Equal($"rtsp://***@127.0.0.1:{receiver.Port}/ingest", status.Url);
            Assert.DoesNotContain(Password, api + string.Join('\n', Logs.Lines), StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(file);
        }
    }

    private static Dictionary<string, string?> Settings(FakeCamera camera, NginxRtmp rtmp) => new()
    {
        ["Relay:Streams:cam:Source"] = camera.Url.ToString(),
        ["Relay:Streams:cam:Push:live:Url"] = rtmp.Url(StreamKey).ToString(),
    };

    private async Task<RelayHost> StartRelayAsync(FakeCamera camera, NginxRtmp rtmp) => await RelayHost.StartAsync(Settings(camera, rtmp), Logs);

    private static async Task<PushStatus> PushStatusAsync(RelayHost relay, string stream = "cam")
    {
        using var http = new HttpClient { BaseAddress = relay.HttpBase };
        var status = await http.GetFromJsonAsync<StreamStatus>($"/api/v1/streams/{stream}", new System.Text.Json.JsonSerializerOptions(System.Text.Json.JsonSerializerDefaults.Web) { Converters = { new System.Text.Json.Serialization.JsonStringEnumConverter() } });
        return Assert.Single(status!.Push);
    }

    private static async Task<PushStatus> WaitForStateAsync(RelayHost relay, string state, string stream = "cam")
    {
        PushStatus status = null!;
        await Eventually.WaitAsync(async () => (status = await PushStatusAsync(relay, stream)).State == state, Timeout, $"the push of {stream} to be {state}");
        return status;
    }

    private static async Task<List<Dictionary<string, string>>> ProbeRtmpAsync(NginxRtmp rtmp, string key = StreamKey)
    {
        List<Dictionary<string, string>> probed = [];
        await Eventually.WaitAsync(
            async () =>
            {
                try
                {
                    probed = await Clients.ProbeAsync(rtmp.Url(key), transport: null, TimeSpan.FromSeconds(20));
                    return probed.Any(s => s["codec_type"] == "video");
                }
                catch (InvalidOperationException)
                {
                    return false; // not published (yet)
                }
            },
            Timeout,
            "ffprobe to read the pushed stream from the RTMP server");
        return probed;
    }

    private static void AssertKeyNowhere(string text) => Assert.DoesNotContain(StreamKey, text, StringComparison.Ordinal);
}
