using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;
using Relay.Media;
using Relay.Tests.Fixtures;
using Xunit.Abstractions;

namespace Relay.Tests.Mjpeg;

/// <summary>Snapshots and MJPEG as browsers and ffprobe see them.</summary>
public sealed class JpegOutputTests(ITestOutputHelper output) : InteropTestBase(output)
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task A_snapshot_of_a_720p_stream_at_width_320_is_a_320x180_jpeg_with_validators()
    {
        await using var relay = await RelayHost.StartAsync(new Dictionary<string, string?> { ["Relay:Streams:cam:Source"] = "test:size=1280x720&fps=25&gop=25&bitrate=1000" }, Logs);
        using var http = new HttpClient { BaseAddress = relay.HttpBase };

        using var first = await http.GetAsync("/streams/cam/snapshot.jpg?width=320");
        var jpeg = await first.Content.ReadAsByteArrayAsync();
        var file = Path.GetTempFileName();
        await File.WriteAllBytesAsync(file, jpeg);
        var probed = await Clients.ProbeAsync(new Uri(file), transport: null);
        File.Delete(file);
        using var revalidate = new HttpRequestMessage(HttpMethod.Get, "/streams/cam/snapshot.jpg?width=320");
        revalidate.Headers.IfNoneMatch.Add(first.Headers.ETag!);
        using var unchanged = await http.SendAsync(revalidate);

        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.Equal("image/jpeg", first.Content.Headers.ContentType?.MediaType);
        Assert.Equal((0xFF, 0xD8), (jpeg[0], jpeg[1]));
        Assert.Equal((0xFF, 0xD9), (jpeg[^2], jpeg[^1]));
        var picture = Assert.Single(probed);
        Assert.Equal(("mjpeg", "320", "180"), (picture["codec_name"], picture["width"], picture["height"]));
        Assert.NotNull(first.Content.Headers.LastModified);
        Assert.Equal(HttpStatusCode.NotModified, unchanged.StatusCode);
    }

    [Fact]
    public async Task A_snapshot_comes_from_the_cached_keyframe_without_waiting_for_the_next_one()
    {
        // A keyframe every 6 s: waiting for the next one would take 3 s on average.
        await using var relay = await RelayHost.StartAsync(new Dictionary<string, string?> { ["Relay:Streams:cam:Source"] = "test:size=640x360&fps=25&gop=150&bitrate=500" }, Logs);
        Assert.True(relay.Streams.TryGetStream("cam", out var runtime));
        await Eventually.WaitAsync(() => runtime.Hub.Statistics.Units >= 10, Timeout, "the first GOP to be cached");
        using var http = new HttpClient { BaseAddress = relay.HttpBase };

        var timings = new List<TimeSpan>();
        foreach (var width in new[] { 320, 160, 480 })
        {
            var started = DateTime.UtcNow;
            using var response = await http.GetAsync($"/streams/cam/snapshot.jpg?width={width}");
            timings.Add(DateTime.UtcNow - started);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        Output.WriteLine(string.Join(", ", timings.Select(t => $"{t.TotalMilliseconds:0} ms")));
        Assert.All(timings, t => Assert.InRange(t, TimeSpan.Zero, TimeSpan.FromSeconds(2)));
    }

    [Fact]
    public async Task A_snapshot_and_slow_mjpeg_of_an_intra_refresh_camera_are_whole_pictures()
    {
        // Such a camera has no IDR picture after its first, only recovery points: a picture needs the frames that
        // follow one decoded too (a recovery point alone is mostly grey, or nothing). The ball pattern is black
        // around a small ball, so a whole picture is dark.
        const int refresh = 10;
        await using var camera = await FakeCamera.StartAsync(new FakeCameraOptions { IntraRefresh = true, Gop = refresh, Width = 320, Height = 240 });
        await using var relay = await RelayHost.StartAsync(new Dictionary<string, string?> { ["Relay:Streams:cam:Source"] = camera.Url.ToString() }, Logs);
        Assert.True(relay.Streams.TryGetStream("cam", out var runtime));
        await Eventually.WaitAsync(() => runtime.Hub.FramesOf(MediaKind.Video) > 3 * refresh, Timeout, "three refresh periods of the camera");
        using var http = new HttpClient { BaseAddress = relay.HttpBase };

        using var snapshot = await http.GetAsync("/streams/cam/snapshot.jpg");
        Assert.Equal(HttpStatusCode.OK, snapshot.StatusCode);
        Assert.InRange(await MeanLumaAsync(await snapshot.Content.ReadAsByteArrayAsync()), 0, 60);

        await using var viewer = MjpegViewerClient.Start(new Uri(relay.HttpBase, "/streams/cam/mjpeg?fps=1")); // keyframes only, were they whole
        await Eventually.WaitAsync(() => viewer.Pictures.Count > 0 || viewer.Failure is not null, Timeout, "the MJPEG viewer's first picture");
        Assert.Null(viewer.Failure);
        Assert.InRange(await MeanLumaAsync(viewer.Pictures.First().Picture), 0, 60);
    }

    [Fact]
    public async Task Mjpeg_at_2_fps_reaches_ten_viewers_at_that_rate_while_a_stopped_viewer_holds_nobody_back()
    {
        await using var relay = await RelayHost.StartAsync(new Dictionary<string, string?> { ["Relay:Streams:cam:Source"] = "test:size=640x360&fps=25&gop=25&bitrate=500" }, Logs);
        var url = new Uri(relay.HttpBase, "/streams/cam/mjpeg?width=320&fps=2");

        // A viewer that asks and then never reads: its socket buffers fill and stay full.
        using var stopped = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { ReceiveBufferSize = 4096 };
        await stopped.ConnectAsync(IPAddress.Loopback, relay.HttpBase.Port);
        await stopped.SendAsync(Encoding.ASCII.GetBytes($"GET {url.PathAndQuery} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"));
        var viewers = Enumerable.Range(0, 10).Select(_ => MjpegViewerClient.Start(url)).ToList();
        try
        {
            await Eventually.WaitAsync(() => viewers.All(v => v.Pictures.Count > 0), Timeout, "every viewer's first picture");
            var from = DateTime.UtcNow.AddSeconds(1);
            var to = from.AddSeconds(6);
            await Eventually.WaitAsync(() => DateTime.UtcNow > to.AddSeconds(0.5), TimeSpan.FromSeconds(10), "the measuring window to pass");
            var rates = viewers.Select(v => v.CountBetween(from, to) / 6.0).ToList();
            var probed = await Clients.ProbeAsync(url, transport: null, format: "mpjpeg");

            Output.WriteLine($"pictures per second: {string.Join(", ", rates.Select(r => r.ToString("0.00", System.Globalization.CultureInfo.InvariantCulture)))}");
            Assert.All(viewers, v => Assert.Null(v.Failure));
            Assert.All(viewers, v => Assert.StartsWith("multipart/x-mixed-replace", v.ContentType, StringComparison.Ordinal));
            Assert.All(rates, r => Assert.InRange(r, 1.5, 2.5));
            var picture = Assert.Single(probed);
            Assert.Equal(("mjpeg", "320", "180"), (picture["codec_name"], picture["width"], picture["height"]));
        }
        finally
        {
            foreach (var viewer in viewers)
            {
                await viewer.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task Viewers_beyond_the_limit_get_503_until_one_leaves()
    {
        await using var relay = await RelayHost.StartAsync(
            new Dictionary<string, string?> { ["Relay:Streams:cam:Source"] = "test:size=320x240&fps=25&gop=25&bitrate=300", ["Relay:Mjpeg:MaxViewers"] = "2" },
            Logs);
        var url = new Uri(relay.HttpBase, "/streams/cam/mjpeg?width=160&fps=1");
        await using var one = MjpegViewerClient.Start(url);
        var two = MjpegViewerClient.Start(url);
        await Eventually.WaitAsync(() => one.Pictures.Count > 0 && two.Pictures.Count > 0, Timeout, "two viewers watching");
        using var http = new HttpClient { BaseAddress = relay.HttpBase };

        using var refused = await http.GetAsync(url, HttpCompletionOption.ResponseHeadersRead);
        await two.DisposeAsync();
        await Eventually.WaitAsync(
            async () =>
            {
                using var response = await http.GetAsync(url, HttpCompletionOption.ResponseHeadersRead);
                return response.StatusCode == HttpStatusCode.OK;
            },
            Timeout,
            "a place to free up");

        Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
        Assert.NotNull(refused.Headers.RetryAfter);
        Assert.Contains("MaxViewers", await refused.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("/streams/cam/snapshot.jpg?width=abc", HttpStatusCode.BadRequest)]
    [InlineData("/streams/cam/snapshot.jpg?width=4", HttpStatusCode.BadRequest)]
    [InlineData("/streams/cam/snapshot.jpg?width=100000", HttpStatusCode.BadRequest)]
    [InlineData("/streams/cam/mjpeg?fps=0", HttpStatusCode.BadRequest)]
    [InlineData("/streams/cam/mjpeg?fps=1000", HttpStatusCode.BadRequest)]
    [InlineData("/streams/cam/mjpeg?width=-3", HttpStatusCode.BadRequest)]
    [InlineData("/streams/nope/snapshot.jpg", HttpStatusCode.NotFound)]
    [InlineData("/streams/nope/mjpeg", HttpStatusCode.NotFound)]
    public async Task Bad_picture_requests_get_a_clear_error(string path, HttpStatusCode status)
    {
        await using var relay = await RelayHost.StartAsync(new Dictionary<string, string?> { ["Relay:Streams:cam:Source"] = "test:size=320x240&fps=25&gop=25&bitrate=300" }, Logs);
        using var http = new HttpClient { BaseAddress = relay.HttpBase };

        using var response = await http.GetAsync(path);

        var body = await response.Content.ReadAsStringAsync();
        Output.WriteLine(body);
        Assert.Equal(status, response.StatusCode);
        Assert.Equal(new MediaTypeHeaderValue("application/problem+json").MediaType, response.Content.Headers.ContentType?.MediaType);
        Assert.Contains("\"detail\"", body, StringComparison.Ordinal);
    }

    // The mean brightness (0-255) of a JPEG picture, decoded by GStreamer.
    private static async Task<double> MeanLumaAsync(byte[] jpeg)
    {
        var input = Path.GetTempFileName();
        var raw = Path.GetTempFileName();
        try
        {
            await File.WriteAllBytesAsync(input, jpeg);
            var result = await ExternalProcess.RunAsync(
                "gst-launch-1.0",
                ["-q", "filesrc", $"location={input}", "!", "jpegdec", "!", "videoconvert", "!", "video/x-raw,format=GRAY8", "!", "filesink", $"location={raw}"],
                Timeout);
            Assert.True(result.ExitCode == 0, result.Stderr);
            var pixels = await File.ReadAllBytesAsync(raw);
            Assert.NotEmpty(pixels);
            return pixels.Average(p => (double)p);
        }
        finally
        {
            File.Delete(input);
            File.Delete(raw);
        }
    }
}
