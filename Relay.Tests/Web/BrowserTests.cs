using System.Globalization;
using System.Text.Json;
using Microsoft.Playwright;
using Relay.Tests.Fixtures;
using Xunit.Abstractions;

namespace Relay.Tests.Web;

/// <summary>The web page in a real browser: Debian's Chromium driven by Playwright.</summary>
[Collection(TimingCollection.Name)]
public sealed class BrowserTests(ChromiumBrowser chromium, ITestOutputHelper output) : InteropTestBase(output), IClassFixture<ChromiumBrowser>
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task The_player_starts_within_1_5_s_of_page_load_and_plays_within_2_s_of_live_with_hls_js()
    {
        await using var relay = await RelayHost.StartAsync(
            new Dictionary<string, string?>
            {
                // Video only, like most CCTV cameras. (This machine has no sound device: Chromium takes 0.5-0.9 s to
                // start even a null audio sink before it plays a stream with sound, which is not the relay's doing.
                // Audio in the browser is covered by the native-player test.)
                ["Relay:Streams:cam:Source"] = "test:pattern=smpte&size=480x270&fps=25&gop=25&bitrate=400",
                ["Relay:Streams:other:Source"] = "test:pattern=ball&size=160x120&fps=5&gop=5&bitrate=50",
            },
            Logs);
        Assert.True(relay.Streams.TryGetStream("cam", out var runtime));
        await Eventually.WaitAsync(() => runtime.Hub.IsReady, Timeout, "the stream to be online");

        // A running relay has served HLS before; the first viewer of this camera still finds its muxer cold. (Tests run
        // the relay JIT-compiled: its first HLS request would also pay for compiling the code, which a production
        // Native AOT build never does.)
        await Clients.ProbeAsync(new Uri(relay.HttpBase, "/streams/other/index.m3u8"), transport: null);
        var page = await chromium.NewPageAsync();

        await page.GotoAsync(new Uri(relay.HttpBase, "/watch/cam").ToString());
        await WaitAsync(page, "window.relayPlayer.firstFrameMs !== null", "the first decoded frame");
        var firstFrameMs = await page.EvaluateAsync<double>("window.relayPlayer.firstFrameMs");
        var pageLoadedMs = await page.EvaluateAsync<double>("performance.getEntriesByType('navigation')[0].domContentLoadedEventEnd");
        Output.WriteLine("player timeline: " + await page.EvaluateAsync<string>("window.relayPlayer.timeline.join(' ')"));
        Output.WriteLine("requests until the first frame: " + await page.EvaluateAsync<string>(
            "performance.getEntriesByType('resource').filter(r => r.startTime < window.relayPlayer.firstFrameMs).map(r => `${r.name.split('/').pop()} ${r.startTime.toFixed(0)}-${r.responseEnd.toFixed(0)}`).join(', ')"));
        var start = await State(page);
        var latencies = new List<double>();
        for (var i = 0; i < 20; i++)
        {
            await page.WaitForTimeoutAsync(500); // sampling the latency every half second for 10 s is the measurement
            latencies.Add(await page.EvaluateAsync<double>("window.relayPlayer.hls.latency || 0"));
        }

        var end = await State(page);
        var picture = await PictureOf(page);

        Output.WriteLine($"first frame {firstFrameMs:0} ms after navigation (page loaded at {pageLoadedMs:0} ms); latency {string.Join(" ", latencies.Select(l => l.ToString("0.00", CultureInfo.InvariantCulture)))} s; {start} -> {end}; picture {picture}");
        // From page load (the player's script runs then), as the requirement reads: the navigation before it (the
        // page and its scripts, JIT-compiled in tests) varied by a few hundred milliseconds between full test runs.
        Assert.InRange(firstFrameMs - pageLoadedMs, 0, 1500);
        Assert.All(latencies, l => Assert.InRange(l, 0.01, 2.0));
        Assert.True(end.CurrentTime - start.CurrentTime >= 4, $"currentTime advanced {end.CurrentTime - start.CurrentTime:0.00} s in 10 s");
        Assert.True(end.Frames > start.Frames + 100, $"decoded frames {start.Frames} -> {end.Frames}");
        Assert.Null(end.MediaError);
        Assert.Equal(0, end.FatalErrors);
        Assert.True(picture.LumaDeviation > 20 && picture.Colours > 8, $"the video's screenshot looks blank or uniform: {picture}");
    }

    [Fact]
    public async Task The_same_playlist_plays_in_chromiums_own_hls_player()
    {
        await using var relay = await RelayHost.StartAsync(new Dictionary<string, string?> { ["Relay:Streams:cam:Source"] = "test:pattern=smpte&size=640x360&fps=25&gop=25&bitrate=600&audio=aac" }, Logs);
        var page = await chromium.NewPageAsync();

        await page.GotoAsync(new Uri(relay.HttpBase, "/watch/cam?player=native").ToString());
        await WaitAsync(page, "document.getElementById('video').currentTime > 0.5", "native playback to start");
        var start = await State(page);
        await WaitAsync(page, $"document.getElementById('video').currentTime > {start.CurrentTime + 3}", "three more seconds of playback");
        var end = await State(page);

        Assert.Equal("browser's own HLS player", await page.EvaluateAsync<string>("window.relayPlayer.engine"));
        Assert.True(end.Frames > start.Frames, $"decoded frames {start.Frames} -> {end.Frames}");
        Assert.Null(end.MediaError);
    }

    [Fact]
    public async Task The_grid_shows_every_stream_with_a_live_mjpeg_tile_of_the_asked_width()
    {
        await using var relay = await RelayHost.StartAsync(
            new Dictionary<string, string?>
            {
                ["Relay:Streams:front:Source"] = "test:pattern=smpte&size=640x360&fps=25&gop=25&bitrate=400",
                ["Relay:Streams:yard/gate:Source"] = "test:pattern=ball&size=640x360&fps=25&gop=25&bitrate=400",
            },
            Logs);
        var page = await chromium.NewPageAsync();

        await page.GotoAsync(relay.HttpBase.ToString());
        await WaitAsync(page, "document.querySelectorAll('.tile').length === 2", "a tile per stream");
        await WaitAsync(page, "[...document.querySelectorAll('img[data-mode=mjpeg]')].every(i => i.naturalWidth > 0)", "the MJPEG pictures");

        var tiles = await page.EvaluateAsync<JsonElement>("[...document.querySelectorAll('.tile')].map(t => ({ name: t.dataset.stream, width: t.querySelector('img').naturalWidth, src: t.querySelector('img').src, text: t.innerText }))");
        Output.WriteLine(tiles.ToString());
        Assert.Equal(["front", "yard/gate"], tiles.EnumerateArray().Select(t => t.GetProperty("name").GetString()));
        Assert.All(tiles.EnumerateArray(), t => Assert.Equal(320, t.GetProperty("width").GetInt32()));
        Assert.All(tiles.EnumerateArray(), t => Assert.Contains("/mjpeg?width=320", t.GetProperty("src").GetString(), StringComparison.Ordinal));
        Assert.All(tiles.EnumerateArray(), t => Assert.Contains("640×360", t.GetProperty("text").GetString(), StringComparison.Ordinal));
    }

    [Fact]
    public async Task The_player_resumes_by_itself_after_a_five_second_camera_outage()
    {
        await using var camera = await FakeCamera.StartAsync(new FakeCameraOptions { Width = 640, Height = 360 });
        await using var relay = await RelayHost.StartAsync(new Dictionary<string, string?> { ["Relay:Streams:cam:Source"] = camera.Url.ToString() }, Logs);
        Assert.True(relay.Streams.TryGetStream("cam", out var runtime));
        var page = await chromium.NewPageAsync();
        await page.GotoAsync(new Uri(relay.HttpBase, "/watch/cam").ToString());
        await page.EvaluateAsync("window.sameDocument = true");
        await WaitAsync(page, "document.getElementById('video').currentTime > 2", "playback");

        await camera.PowerOffAsync();
        await Eventually.WaitAsync(() => !runtime.Hub.IsOnline, Timeout, "the relay to notice the camera is gone");
        await page.WaitForTimeoutAsync(5000); // the scenario: a five-second outage
        var stalledAt = (await State(page)).CurrentTime;
        await camera.PowerOnAsync();
        await WaitAsync(page, $"document.getElementById('video').currentTime > {stalledAt + 3}", "playback to resume");
        var end = await State(page);

        Output.WriteLine($"stalled at {stalledAt:0.00} s, now {end}; errors {await page.EvaluateAsync<string>("JSON.stringify(window.relayPlayer.errors)")}");
        Assert.True(await page.EvaluateAsync<bool>("window.sameDocument === true"), "the page was reloaded");
        Assert.Null(end.MediaError);
    }

    private static Task WaitAsync(IPage page, string condition, string what) =>
        ChromiumBrowser.WaitForAsync(page, condition, what, Timeout, "'player: ' + JSON.stringify(window.relayPlayer)");

    private static async Task<PlayerState> State(IPage page)
    {
        var state = await page.EvaluateAsync<JsonElement>(
            """
            (() => {
              const v = document.getElementById('video');
              const p = window.relayPlayer;
              return { currentTime: v.currentTime, frames: v.getVideoPlaybackQuality().totalVideoFrames,
                       mediaError: v.error ? `${v.error.code} ${v.error.message}` : null,
                       fatal: p.errors.filter(e => e.fatal).length };
            })()
            """);
        return new PlayerState(
            state.GetProperty("currentTime").GetDouble(),
            state.GetProperty("frames").GetInt32(),
            state.GetProperty("mediaError").GetString(),
            state.GetProperty("fatal").GetInt32());
    }

    /// <summary>Takes a screenshot of the video and measures how much it varies (a blank frame has no spread).</summary>
    private static async Task<Picture> PictureOf(IPage page)
    {
        var png = await page.Locator("#video").ScreenshotAsync();
        var measured = await page.EvaluateAsync<JsonElement>(
            """
            async (b64) => {
              const bitmap = await createImageBitmap(await (await fetch('data:image/png;base64,' + b64)).blob());
              const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
              const context = canvas.getContext('2d');
              context.drawImage(bitmap, 0, 0);
              const d = context.getImageData(0, 0, bitmap.width, bitmap.height).data;
              let sum = 0, squares = 0, n = 0;
              const colours = new Set();
              for (let i = 0; i < d.length; i += 4 * 7) {
                const y = 0.299 * d[i] + 0.587 * d[i + 1] + 0.114 * d[i + 2];
                sum += y; squares += y * y; n++;
                colours.add(((d[i] >> 5) << 6) | ((d[i + 1] >> 5) << 3) | (d[i + 2] >> 5));
              }
              const mean = sum / n;
              return { deviation: Math.sqrt(squares / n - mean * mean), colours: colours.size };
            }
            """,
            Convert.ToBase64String(png));
        return new Picture(measured.GetProperty("deviation").GetDouble(), measured.GetProperty("colours").GetInt32());
    }

    private sealed record PlayerState(double CurrentTime, int Frames, string? MediaError, int FatalErrors);

    private sealed record Picture(double LumaDeviation, int Colours);
}
