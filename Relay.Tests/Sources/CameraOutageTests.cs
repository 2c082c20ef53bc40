using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using Relay.Tests.Fixtures;
using Xunit.Abstractions;

namespace Relay.Tests.Sources;

/// <summary>Cameras come and go; readers stay.</summary>
public sealed class CameraOutageTests(ITestOutputHelper output) : InteropTestBase(output)
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    [Theory]
    [InlineData("tcp")]
    [InlineData("udp")]
    public async Task Readers_stay_connected_through_a_camera_restart_and_resume_within_two_seconds(string transport)
    {
        await using var camera = await FakeCamera.StartAsync();
        await using var relay = await RelayHost.StartAsync(new Dictionary<string, string?> { ["Relay:Streams:cam1:Source"] = camera.Url.ToString() }, Logs);
        var stream = relay.Streams.TryGetStream("cam1", out var runtime) ? runtime.Hub : throw new InvalidOperationException();
        await using var ffmpeg = LiveProcess.Ffmpeg(relay.RtspUrl("cam1"), transport);
        await using var gst = LiveProcess.Start("gst-launch-1.0", "-q", "rtspsrc", $"location={relay.RtspUrl("cam1")}", $"protocols={transport}", "!", "rtph264depay", "!", "h264parse", "!", "fakesink", "num-buffers=200");
        await ffmpeg.WaitForFramesAsync(50, Timeout);

        await camera.PowerOffAsync();
        await Eventually.WaitAsync(() => !stream.IsOnline, Timeout, "the relay to notice the camera is gone");
        var framesDuringOutage = ffmpeg.Frames;
        var describeDuringOutage = await Clients.DescribeStatusAsync(relay.RtspPort, relay.RtspUrl("cam1"));
        await Task.Delay(TimeSpan.FromSeconds(5)); // the scenario: a five-second outage
        var stalled = ffmpeg.Frames;
        await camera.PowerOnAsync();
        var back = DateTime.UtcNow;
        await ffmpeg.WaitForFramesAsync(stalled + 25, Timeout);
        var gstExit = await gst.WaitForExitAsync(Timeout);

        var resumed = ffmpeg.FrameReports().First(r => r.Frames > stalled).At;
        Output.WriteLine($"frames before {framesDuringOutage}, during {stalled}, resumed {(resumed - back).TotalSeconds:0.00} s after the camera returned");
        Assert.False(ffmpeg.HasExited, ffmpeg.Stderr);
        Assert.InRange(stalled - framesDuringOutage, 0, 30); // nothing new during the outage beyond what was queued
        Assert.InRange(resumed - back, TimeSpan.Zero, TimeSpan.FromSeconds(2));
        Assert.True(Clients.GstreamerSucceeded(gstExit, gst.Stderr), gst.Stderr);
        Assert.Equal(2, stream.Epochs);
        Assert.Equal(200, describeDuringOutage.Status); // answered from the remembered tracks
        Assert.InRange(describeDuringOutage.Elapsed, TimeSpan.Zero, TimeSpan.FromSeconds(1));
    }

    [Fact]
    public async Task A_camera_that_accepts_and_never_answers_backs_off_while_another_stream_flows_untouched()
    {
        using var blackhole = new TcpListener(IPAddress.Loopback, 0);
        blackhole.Start();
        var port = ((IPEndPoint)blackhole.LocalEndpoint).Port;
        await using var relay = await RelayHost.StartAsync(
            new Dictionary<string, string?>
            {
                ["Relay:Streams:dead:Source"] = $"rtsp://127.0.0.1:{port}/never",
                ["Relay:Streams:dead:ConnectTimeout"] = "1s",
                ["Relay:Streams:live:Source"] = "test:size=320x240&fps=25&gop=25&bitrate=300",
                ["Relay:Rtsp:DescribeTimeout"] = "2s",
            },
            Logs);
        var reader = Clients.ReadWithFfmpegAsync(relay.RtspUrl("live"), "tcp", seconds: 6);
        using var http = new HttpClient { BaseAddress = relay.HttpBase };

        var describe = await Clients.DescribeStatusAsync(relay.RtspPort, relay.RtspUrl("dead"));
        await Eventually.WaitAsync(() => relay.Streams.TryGetStream("dead", out var r) && r.Status.Reconnects >= 2, Timeout, "two failed attempts");
        var status = await http.GetFromJsonAsync<System.Text.Json.JsonElement>("/api/v1/streams/dead");
        var read = await reader;

        Assert.Equal(503, describe.Status);
        Assert.InRange(describe.Elapsed, TimeSpan.FromSeconds(1.9), TimeSpan.FromSeconds(4));
        Assert.Equal("SourceTimedOut", status.GetProperty("lastError").GetProperty("kind").GetString());
        Assert.True(read.ExitCode == 0, read.Result.Stderr);
        Assert.Empty(read.Problems);
        Assert.InRange(read.Frames, 145, 175);
    }

    [Fact]
    public async Task Wrong_credentials_show_as_unauthorized_and_are_retried_slowly()
    {
        await using var camera = await FakeCamera.StartAsync(new FakeCameraOptions { User = "viewer", Password = "right-password" });
        await using var relay = await RelayHost.StartAsync(
            new Dictionary<string, string?>
            {
                ["Relay:Streams:cam1:Source"] = camera.UrlWithCredentials("viewer", "wrong-password").ToString(),
                ["Relay:Streams:cam1:MaxRetryDelay"] = "3s",
            },
            Logs);
        using var http = new HttpClient { BaseAddress = relay.HttpBase };

        await Eventually.WaitAsync(() => relay.Streams.TryGetStream("cam1", out var r) && r.Status.State == Relay.Configuration.StreamState.Faulted, Timeout, "the stream to be faulted");
        var json = await http.GetStringAsync("/api/v1/streams/cam1");
        var runtime = relay.Streams.FindStream("cam1") ?? throw new InvalidOperationException("cam1 is gone");
        var attemptsAtFault = runtime.Status.Reconnects;
        await Task.Delay(TimeSpan.FromSeconds(5)); // the scenario: watch the retry pace for five seconds
        var attempts = runtime.Status.Reconnects - attemptsAtFault;

        Assert.Contains("\"SourceUnauthorized\"", json, StringComparison.Ordinal);
        Assert.Contains("\"Faulted\"", json, StringComparison.Ordinal);
        Assert.InRange(attempts, 1, 2); // one attempt per 3 s at most
        Assert.DoesNotContain("wrong-password", json, StringComparison.Ordinal);
        Assert.DoesNotContain(Logs.Lines, l => l.Contains("wrong-password", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_codec_change_closes_readers_cleanly_and_says_why()
    {
        await using var camera = await FakeCamera.StartAsync();
        await using var relay = await RelayHost.StartAsync(new Dictionary<string, string?> { ["Relay:Streams:cam1:Source"] = camera.Url.ToString(), ["Relay:Streams:cam1:MaxRetryDelay"] = "1s" }, Logs);
        await using var ffmpeg = LiveProcess.Ffmpeg(relay.RtspUrl("cam1"), "tcp");
        await ffmpeg.WaitForFramesAsync(25, Timeout);

        await camera.PowerOffAsync();
        await camera.PowerOnAsync(new FakeCameraOptions { VideoCodec = "h265" });
        var exit = await ffmpeg.WaitForExitAsync(Timeout);
        var streams = await Clients.ProbeAsync(relay.RtspUrl("cam1"), "tcp");

        Output.WriteLine($"ffmpeg exited with {exit}");
        Assert.Contains(Logs.Lines, l => l.Contains("codec changed", StringComparison.Ordinal));
        Assert.Equal("hevc", Assert.Single(streams)["codec_name"]);
    }

    [Fact]
    public async Task A_resolution_change_reaches_readers_in_band()
    {
        await using var camera = await FakeCamera.StartAsync(new FakeCameraOptions { Width = 320, Height = 240 });
        await using var relay = await RelayHost.StartAsync(new Dictionary<string, string?> { ["Relay:Streams:cam1:Source"] = camera.Url.ToString(), ["Relay:Streams:cam1:MaxRetryDelay"] = "1s" }, Logs);
        await using var ffmpeg = LiveProcess.Ffmpeg(relay.RtspUrl("cam1"), "tcp");
        await ffmpeg.WaitForFramesAsync(25, Timeout);

        await camera.PowerOffAsync();
        await camera.PowerOnAsync(new FakeCameraOptions { Width = 640, Height = 480 });
        var before = ffmpeg.Frames;
        await ffmpeg.WaitForFramesAsync(before + 50, Timeout);
        var streams = await Clients.ProbeAsync(relay.RtspUrl("cam1"), "tcp");

        Assert.False(ffmpeg.HasExited);
        Assert.Equal(("640", "480"), (streams[0]["width"], streams[0]["height"]));
    }
}
