using System.Text.Json;
using Microsoft.Playwright;
using Relay.Tests.Fixtures;
using Xunit.Abstractions;

namespace Relay.Tests.Web;

/// <summary>The manager page and the channel viewer in Debian's Chromium: an operator's clicks, through the real API.</summary>
[Collection(TimingCollection.Name)]
public sealed class ManagePageTests(ChromiumBrowser chromium, ITestOutputHelper output) : InteropTestBase(output), IClassFixture<ChromiumBrowser>
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task A_stream_added_on_the_page_comes_online_bad_input_is_shown_beside_its_field_and_a_wall_switch_changes_the_viewer_picture()
    {
        using var refusing = RefusingPort();
        await using var relay = await RelayHost.StartAsync(
            new Dictionary<string, string?>
            {
                ["Relay:Streams:white:Source"] = "test:pattern=white&size=320x240&fps=25&gop=25&bitrate=200",
                ["Relay:Streams:black:Source"] = "test:pattern=black&size=320x240&fps=25&gop=25&bitrate=200",
                ["Relay:Channels:wall"] = "white",
                ["Relay:Streams:white:Push:live:Url"] = $"rtmp://127.0.0.1:{((System.Net.IPEndPoint)refusing.LocalEndPoint!).Port}/live/sk-page-secret", // refused: it retries
            },
            Logs);
        var manage = await chromium.NewPageAsync();
        await manage.GotoAsync(new Uri(relay.HttpBase, "/manage").ToString());

        // The push target is listed with its state, its destination without the stream key.
        await WaitAsync(manage, "document.querySelector('#streams tr[data-stream=white] [data-target=live]')?.textContent === 'live: retrying'", "the push target retrying in the table");
        var pushTitle = await manage.GetAttributeAsync("#streams tr[data-stream=white] [data-target=live]", "title");
        var pageText = await manage.ContentAsync();

        // Add a stream with a mistake, see the API's problem beside the field, fix it, see it come online.
        await manage.FillAsync("#stream-form input[name=name]", "door");
        await manage.FillAsync("#stream-form input[name=source]", "ftp://camera/stream");
        await manage.FillAsync("#stream-form input[name=idleTimeout]", "soon");
        await manage.ClickAsync("#save");
        await WaitAsync(manage, "document.querySelector('[data-problem=source]').textContent.length > 0", "the source problem");
        var sourceProblem = await manage.TextContentAsync("[data-problem=source]");
        var idleProblem = await manage.TextContentAsync("[data-problem=idleTimeout]");
        await manage.FillAsync("#stream-form input[name=source]", "test:pattern=ball&size=320x240&fps=10&gop=10&bitrate=100");
        await manage.FillAsync("#stream-form input[name=idleTimeout]", "");
        await manage.ClickAsync("#save");
        await WaitAsync(manage, "[...document.querySelectorAll('#streams tr[data-stream=door] .state')].some(s => s.textContent === 'Online')", "door online in the table");

        // A wall screen shows the channel; switching its camera on the wall changes the picture without a reload.
        var viewer = await chromium.NewPageAsync();
        await viewer.GotoAsync(new Uri(relay.HttpBase, "/view/wall").ToString());
        await viewer.EvaluateAsync("window.sameDocument = true");
        await WaitAsync(viewer, "document.getElementById('video').currentTime > 1", "the viewer to play");
        var before = await MeanLumaAsync(viewer);
        await WaitAsync(manage, "document.querySelector('[data-channel=wall] select')?.options.length >= 3", "the wall tile's choices");
        await manage.SelectOptionAsync("[data-channel=wall] select", "black");
        await WaitAsync(viewer, "(() => { const v = document.getElementById('video'); const c = document.createElement('canvas'); c.width = 8; c.height = 6; const x = c.getContext('2d'); x.drawImage(v, 0, 0, 8, 6); const d = x.getImageData(0, 0, 8, 6).data; let s = 0; for (let i = 0; i < d.length; i += 4) s += d[i]; return s / (d.length / 4) < 60; })()", "the viewer to show the black camera");
        var after = await MeanLumaAsync(viewer);
        using var http = new HttpClient { BaseAddress = relay.HttpBase };
        using var channel = JsonDocument.Parse(await http.GetStringAsync("/api/v1/channels/wall"));
        Output.WriteLine($"viewer picture brightness {before:0} before the switch, {after:0} after; {await viewer.EvaluateAsync<string>("JSON.stringify(window.relayPlayer.errors)")}");

        Assert.Contains("rtmp://127.0.0.1:", pushTitle, StringComparison.Ordinal);
        Assert.Contains("cannot connect", pushTitle, StringComparison.Ordinal);
        Assert.DoesNotContain("sk-page-secret", pageText, StringComparison.Ordinal);
        Assert.Contains("ftp", sourceProblem, StringComparison.Ordinal);
        Assert.Contains("duration", idleProblem, StringComparison.Ordinal);
        Assert.True(relay.Streams.TryGetStream("door", out _));
        Assert.InRange(before, 180, 255);
        Assert.InRange(after, 0, 60);
        Assert.True(await viewer.EvaluateAsync<bool>("window.sameDocument === true"), "the viewer was reloaded");
        Assert.Equal("black", channel.RootElement.GetProperty("stream").GetString());
    }

    /// <summary>A loopback port held for the test and not listening: connections to it are refused, and no one else can take it.</summary>
    private static System.Net.Sockets.Socket RefusingPort()
    {
        var socket = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.InterNetwork, System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp);
        socket.Bind(new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, 0));
        return socket;
    }

    private static Task WaitAsync(IPage page, string condition, string what) => ChromiumBrowser.WaitForAsync(page, condition, what, Timeout);

    /// <summary>Takes a screenshot of the viewer's video and measures the mean brightness (0-255) of its middle.</summary>
    private static async Task<double> MeanLumaAsync(IPage page)
    {
        var png = await page.Locator("#video").ScreenshotAsync();
        return await page.EvaluateAsync<double>(
            """
            async (b64) => {
              const bitmap = await createImageBitmap(await (await fetch('data:image/png;base64,' + b64)).blob());
              const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
              const context = canvas.getContext('2d');
              context.drawImage(bitmap, 0, 0);
              const d = context.getImageData(0, 0, bitmap.width, bitmap.height).data;
              // The middle half only: the picture is letterboxed in the window.
              let sum = 0, n = 0;
              for (let y = bitmap.height >> 2; y < (3 * bitmap.height) >> 2; y += 3) {
                for (let x = bitmap.width >> 2; x < (3 * bitmap.width) >> 2; x += 3) {
                  const i = 4 * (y * bitmap.width + x);
                  sum += 0.299 * d[i] + 0.587 * d[i + 1] + 0.114 * d[i + 2];
                  n++;
                }
              }
              return sum / n;
            }
            """,
            Convert.ToBase64String(png));
    }
}
