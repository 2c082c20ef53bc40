using System.Net;
using System.Text.Json;
using Relay.Tests.Fixtures;
using Xunit.Abstractions;

namespace Relay.Tests.Hls;

/// <summary>HLS as players and ffmpeg see it: real relay, real camera or test source, real HTTP.</summary>
public sealed class HlsOutputTests(ITestOutputHelper output) : InteropTestBase(output)
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Ffprobe_reads_video_and_audio_and_ffmpeg_copies_them_without_a_warning()
    {
        await using var relay = await RelayHost.StartAsync(new Dictionary<string, string?> { ["Relay:Streams:cam:Source"] = "test:size=640x360&fps=25&gop=25&bitrate=500&audio=aac" }, Logs);
        var url = new Uri(relay.HttpBase, "/streams/cam/index.m3u8");

        var streams = await Clients.ProbeAsync(url, transport: null);
        var copy = await ExternalProcess.RunAsync("ffmpeg", ["-hide_banner", "-nostats", "-loglevel", "level+warning", "-i", url.ToString(), "-t", "4", "-map", "0", "-c", "copy", "-f", "null", "-"], Timeout);

        var video = Assert.Single(streams, s => s["codec_type"] == "video");
        Assert.Equal(("h264", "640", "360", "25/1"), (video["codec_name"], video["width"], video["height"], video["r_frame_rate"]));
        var audio = Assert.Single(streams, s => s["codec_type"] == "audio");
        Assert.Equal(("aac", "48000"), (audio["codec_name"], audio["sample_rate"]));
        Assert.True(copy.ExitCode == 0, copy.Stderr);
        // ffmpeg 5.1's HLS demuxer re-reads EXT-X-MAP after every live playlist reload (it compares init sections by
        // pointer, and each reload makes new ones), so the mov demuxer sees the moov again: that warning is the client's.
        var complaints = copy.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Where(l => !l.Contains("Found duplicated MOOV Atom", StringComparison.Ordinal) && !l.StartsWith("Last message repeated", StringComparison.Ordinal)).ToList();
        Assert.True(complaints.Count == 0, $"ffmpeg complained: {string.Join('\n', complaints)}");
    }

    [Fact]
    public async Task H265_is_served_as_hvc1()
    {
        await using var relay = await RelayHost.StartAsync(new Dictionary<string, string?> { ["Relay:Streams:cam:Source"] = "test:size=320x240&fps=25&gop=25&bitrate=300&codec=h265" }, Logs);

        var streams = await Clients.ProbeAsync(new Uri(relay.HttpBase, "/streams/cam/index.m3u8"), transport: null);

        var video = Assert.Single(streams);
        Assert.Equal(("hevc", "hvc1", "320", "240"), (video["codec_name"], video["codec_tag_string"], video["width"], video["height"]));
    }

    [Fact]
    public async Task Every_playlist_a_low_latency_player_loads_obeys_the_rules_and_every_resource_it_lists_is_there()
    {
        await using var relay = await RelayHost.StartAsync(new Dictionary<string, string?> { ["Relay:Streams:cam:Source"] = "test:size=320x240&fps=25&gop=25&bitrate=300&audio=aac" }, Logs);
        using var http = new HttpClient { BaseAddress = new Uri(relay.HttpBase, "/streams/cam/") };
        using var index = await http.GetAsync("index.m3u8");
        Assert.Equal(HttpStatusCode.OK, index.StatusCode);
        Assert.Equal("application/vnd.apple.mpegurl", index.Content.Headers.ContentType?.MediaType);
        Assert.Contains("CODECS=\"avc1.", await index.Content.ReadAsStringAsync());
        using var preflight = new HttpRequestMessage(HttpMethod.Options, "stream.m3u8");
        preflight.Headers.Add("Origin", "http://example.test");
        preflight.Headers.Add("Access-Control-Request-Method", "GET");
        preflight.Headers.Add("Access-Control-Request-Headers", "range");
        using var allowed = await http.SendAsync(preflight);
        Assert.Equal(HttpStatusCode.NoContent, allowed.StatusCode);
        Assert.Equal(("*", "range"), (allowed.Headers.GetValues("Access-Control-Allow-Origin").Single(), allowed.Headers.GetValues("Access-Control-Allow-Headers").Single()));

        // Load the media playlist the way hls.js does in low-latency mode: each request asks for the next part.
        var playlists = new List<LowLatencyPlaylist>();
        var fetched = new HashSet<string>();
        var directive = string.Empty;
        var started = DateTime.UtcNow;
        while (playlists.Count < 12 && DateTime.UtcNow - started < TimeSpan.FromSeconds(30))
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, "stream.m3u8" + directive);
            request.Headers.Add("Origin", "http://example.test");
            using var response = await http.SendAsync(request);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("*", response.Headers.GetValues("Access-Control-Allow-Origin").Single());
            Assert.Equal("no-cache", response.Headers.CacheControl?.ToString());
            var playlist = LowLatencyPlaylist.Parse(await response.Content.ReadAsStringAsync());
            playlists.Add(playlist);
            foreach (var uri in playlist.Segments.SelectMany(s => s.Parts.Select(p => p.Uri).Append(s.Uri).Append(s.Map)).OfType<string>().Where(fetched.Add))
            {
                var bytes = await http.GetByteArrayAsync(uri);
                var boxes = Mp4Box.Parse(bytes).Select(b => b.Type).Distinct().ToList();
                Assert.True(uri.EndsWith(".mp4", StringComparison.Ordinal) ? boxes.SequenceEqual(["ftyp", "moov"]) : boxes.SequenceEqual(["moof", "mdat"]), $"{uri}: {string.Join(",", boxes)}");
            }

            var (sequence, part) = Next(playlist);
            directive = $"?_HLS_msn={sequence}&_HLS_part={part}";
        }

        Output.WriteLine(playlists[^1].Text);
        Assert.Equal(12, playlists.Count);
        Assert.True(playlists.Zip(playlists.Skip(1)).All(p => p.Second.Text != p.First.Text), "every blocking reload answered with the next part");
        Assert.All(playlists, p => Assert.True(p.Violations().Count == 0, string.Join("; ", p.Violations()) + "\n" + p.Text));
        Assert.All(playlists.Zip(playlists.Skip(1)), p => Assert.True(p.Second.MediaSequence >= p.First.MediaSequence));
        Assert.Equal(1, playlists[^1].TargetDuration);
        Assert.True(fetched.Count(u => u.Contains("-part", StringComparison.Ordinal)) >= 15, $"{fetched.Count} resources fetched");
    }

    [Fact]
    public async Task Bad_requests_get_a_clear_error_and_the_stream_keeps_being_served()
    {
        await using var relay = await RelayHost.StartAsync(new Dictionary<string, string?> { ["Relay:Streams:cam:Source"] = "test:size=320x240&fps=25&gop=25&bitrate=300" }, Logs);
        using var http = new HttpClient { BaseAddress = relay.HttpBase };
        (await http.GetAsync("/streams/cam/index.m3u8")).EnsureSuccessStatusCode();

        var cases = new (string Path, HttpStatusCode Status)[]
        {
            ("/streams/nope/index.m3u8", HttpStatusCode.NotFound),
            ("/streams/cam/stream.m3u8?_HLS_msn=999999&_HLS_part=0", HttpStatusCode.BadRequest),
            ("/streams/cam/stream.m3u8?_HLS_msn=abc", HttpStatusCode.BadRequest),
            ("/streams/cam/stream.m3u8?_HLS_part=1", HttpStatusCode.BadRequest),
            ("/streams/cam/stream.m3u8?_HLS_msn=1&_HLS_part=9999", HttpStatusCode.BadRequest),
            ("/streams/cam/000000-seg1.m4s", HttpStatusCode.NotFound),
            ("/streams/cam/nothing.txt", HttpStatusCode.NotFound),
        };
        foreach (var (path, status) in cases)
        {
            var started = DateTime.UtcNow;
            using var response = await http.GetAsync(path);
            var body = await response.Content.ReadAsStringAsync();
            Output.WriteLine($"{path} -> {(int)response.StatusCode} {body}");
            Assert.Equal(status, response.StatusCode);
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
            Assert.False(string.IsNullOrEmpty(JsonDocument.Parse(body).RootElement.GetProperty("detail").GetString()));
            // Answered without waiting: a blocking reload waits at least three target durations (3 s here).
            Assert.True(DateTime.UtcNow - started < TimeSpan.FromSeconds(2.9), $"{path} took {(DateTime.UtcNow - started).TotalSeconds:0.0} s (never a hang)");
        }

        var streams = await Clients.ProbeAsync(new Uri(relay.HttpBase, "/streams/cam/index.m3u8"), transport: null);
        Assert.Equal("h264", Assert.Single(streams)["codec_name"]);
    }

    [Fact]
    public async Task The_playlist_keeps_going_through_a_camera_outage_without_a_discontinuity()
    {
        await using var camera = await FakeCamera.StartAsync(new FakeCameraOptions { Audio = "aac" });
        await using var relay = await RelayHost.StartAsync(new Dictionary<string, string?> { ["Relay:Streams:cam:Source"] = camera.Url.ToString() }, Logs);
        using var http = new HttpClient { BaseAddress = new Uri(relay.HttpBase, "/streams/cam/") };
        (await http.GetAsync("index.m3u8")).EnsureSuccessStatusCode();
        var stream = relay.Streams.TryGetStream("cam", out var runtime) ? runtime.Hub : throw new InvalidOperationException();
        await Eventually.WaitAsync(async () => LowLatencyPlaylist.Parse(await http.GetStringAsync("stream.m3u8")).Segments.Count(s => s.Uri is not null) >= 2, Timeout, "two segments before the outage");

        await camera.PowerOffAsync();
        await Eventually.WaitAsync(() => !stream.IsOnline, Timeout, "the relay to notice the camera is gone");
        var during = LowLatencyPlaylist.Parse(await http.GetStringAsync("stream.m3u8"));
        await Task.Delay(TimeSpan.FromSeconds(5)); // the scenario: a five-second outage
        await camera.PowerOnAsync();
        var lastBefore = during.Segments.Last(s => s.Uri is not null);
        await Eventually.WaitAsync(
            async () => LowLatencyPlaylist.Parse(await http.GetStringAsync("stream.m3u8")).Segments.Count(s => s.Uri is not null && s.ProgramDateTime > lastBefore.ProgramDateTime!.Value.AddSeconds(4)) >= 2,
            Timeout,
            "two segments after the camera came back");
        var after = LowLatencyPlaylist.Parse(await http.GetStringAsync("stream.m3u8"));

        Output.WriteLine(after.Text);
        var violations = after.Violations(partFloor: false); // the fake camera's frame times wander
        Assert.True(violations.Count == 0, string.Join("; ", violations));
        Assert.DoesNotContain(after.Segments, s => s.Discontinuity);
        Assert.All(after.Segments, s => Assert.Equal(after.Segments[0].Map, s.Map ?? after.Segments[0].Map));
        var dates = after.Segments.Select(s => s.ProgramDateTime!.Value).ToList();
        Assert.Contains(dates.Zip(dates.Skip(1)), p => (p.Second - p.First).TotalSeconds > 4); // wall clock across the outage
        var streams = await Clients.ProbeAsync(new Uri(relay.HttpBase, "/streams/cam/index.m3u8"), transport: null);
        Assert.Equal(["aac", "h264"], streams.Select(s => s["codec_name"]).Order());
    }

    [Fact]
    public async Task G711_audio_is_left_out_with_a_log_line()
    {
        await using var camera = await FakeCamera.StartAsync(new FakeCameraOptions { Audio = "pcmu" });
        await using var relay = await RelayHost.StartAsync(new Dictionary<string, string?> { ["Relay:Streams:cam:Source"] = camera.Url.ToString() }, Logs);

        var streams = await Clients.ProbeAsync(new Uri(relay.HttpBase, "/streams/cam/index.m3u8"), transport: null);

        Assert.Equal("h264", Assert.Single(streams)["codec_name"]);
        Assert.Contains(Logs.Lines, l => l.Contains("left out of HLS", StringComparison.Ordinal) && l.Contains("Pcmu", StringComparison.Ordinal));
    }

    [Fact]
    public async Task An_unwatched_muxer_stops_and_lets_an_on_demand_camera_go()
    {
        await using var camera = await FakeCamera.StartAsync();
        await using var relay = await RelayHost.StartAsync(
            new Dictionary<string, string?>
            {
                ["Relay:Streams:cam:Source"] = camera.Url.ToString(),
                ["Relay:Streams:cam:OnDemand"] = "true",
                ["Relay:Streams:cam:IdleTimeout"] = "1s",
                ["Relay:Hls:IdleTimeout"] = "2s",
            },
            Logs);
        var hls = relay.App.Services.GetService(typeof(Relay.Server.Hls.HlsServer)) as Relay.Server.Hls.HlsServer ?? throw new InvalidOperationException();

        using var http = new HttpClient { BaseAddress = relay.HttpBase };
        (await http.GetAsync("/streams/cam/index.m3u8")).EnsureSuccessStatusCode();
        var pulledWhileWatched = camera.SessionCount;
        var heldWhileWatched = await HeldBytesAsync(http);
        var stoppedAt = DateTime.UtcNow;
        await Eventually.WaitAsync(() => hls.Muxers.Count == 0, TimeSpan.FromSeconds(15), "the idle muxer to stop");
        var muxerStoppedAfter = DateTime.UtcNow - stoppedAt;
        await Eventually.WaitAsync(() => camera.SessionCount == 0, TimeSpan.FromSeconds(15), "the on-demand camera to be let go");

        Assert.Equal(1, pulledWhileWatched);
        Assert.True(heldWhileWatched > 0, "relay_hls_held_bytes counts the cached segment");
        Assert.Equal(0, await HeldBytesAsync(http));
        Assert.InRange(muxerStoppedAfter, TimeSpan.FromSeconds(1.5), TimeSpan.FromSeconds(6));
    }

    private static async Task<double> HeldBytesAsync(HttpClient http)
    {
        var text = await http.GetStringAsync("/metrics");
        var line = text.Split('\n').Single(l => l.StartsWith("relay_hls_held_bytes{stream=\"cam\"}", StringComparison.Ordinal));
        return double.Parse(line[(line.LastIndexOf(' ') + 1)..], System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>The part a low-latency player asks for next: the preload hint's.</summary>
    private static (long Sequence, int Part) Next(LowLatencyPlaylist playlist)
    {
        var hint = playlist.PreloadHint ?? throw new InvalidOperationException("no preload hint");
        var name = hint[(hint.IndexOf("-part", StringComparison.Ordinal) + 5)..^4].Split('.');
        return (long.Parse(name[0], System.Globalization.CultureInfo.InvariantCulture), int.Parse(name[1], System.Globalization.CultureInfo.InvariantCulture));
    }
}
