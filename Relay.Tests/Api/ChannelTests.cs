using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using Relay.Tests.Fixtures;
using static Relay.Tests.Fixtures.ApiRequests;
using Xunit.Abstractions;

namespace Relay.Tests.Api;

/// <summary>Channels: named outputs that show one stream and switch to another while their readers stay connected.</summary>
[Collection(TimingCollection.Name)]
public sealed class ChannelTests(ITestOutputHelper output) : InteropTestBase(output)
{
    private const string White = "test:pattern=white&size=320x240&fps=25&gop=25&bitrate=300";
    private const string Black = "test:pattern=black&size=320x240&fps=25&gop=25&bitrate=300";
    private const int Switches = 50;

    [Fact]
    public async Task Switching_a_channel_keeps_ten_readers_on_one_timeline_and_the_new_camera_reaches_them_on_a_keyframe_at_once()
    {
        await using var relay = await RelayHost.StartAsync(new Dictionary<string, string?> { ["Relay:Streams:white:Source"] = White, ["Relay:Streams:black:Source"] = Black }, Logs);
        using var http = new HttpClient { BaseAddress = relay.HttpBase };
        (await http.PostAsync("/api/v1/channels", Json(new { name = "wall", stream = "white" }))).EnsureSuccessStatusCode();
        var url = relay.RtspUrl("wall");
        await Clients.ProbeAsync(url, "tcp");

        // Ten readers: ffmpeg (one of them decoding and printing each picture's brightness), gst-launch, and four
        // recorders of every RTP packet, over TCP and UDP.
        var decoder = LiveProcess.Start("ffmpeg", "-hide_banner", "-nostats", "-loglevel", "level+warning", "-rtsp_transport", "tcp", "-i", url.ToString(), "-an", "-vf", "scale=16:12,signalstats,metadata=print:key=lavfi.signalstats.YAVG:file=-", "-f", "null", "-");
        await using var readers = new Readers(
            decoder,
            LiveProcess.Ffmpeg(url, "tcp"),
            LiveProcess.Ffmpeg(url, "udp"),
            Gst(url, "tcp"),
            Gst(url, "udp"),
            Gst(url, "tcp"));
        var recorders = new[]
        {
            await RtpRecorder.PlayAsync(relay.RtspPort, url, "tcp"), await RtpRecorder.PlayAsync(relay.RtspPort, url, "tcp"),
            await RtpRecorder.PlayAsync(relay.RtspPort, url, "udp"), await RtpRecorder.PlayAsync(relay.RtspPort, url, "udp"),
        };
        readers.Add(recorders);
        await Eventually.WaitAsync(() => relay.Rtsp.Sessions.Count(s => s.IsPlaying) == 10, TimeSpan.FromSeconds(30), "ten readers playing");
        var clock = recorders[0];

        var latencies = new List<double>();
        for (var i = 0; i < Switches; i++)
        {
            // Switch just after a keyframe of the camera shown now: its next one is a GOP away, so the first keyframe
            // after the call is the new camera's.
            var keyframesBefore = clock.Keyframes.Count;
            await Eventually.WaitAsync(() => clock.Keyframes.Count > keyframesBefore, TimeSpan.FromSeconds(10), "a keyframe");
            var called = Stopwatch.GetTimestamp();
            using var switched = await http.PutAsync("/api/v1/channels/wall", Json(new { stream = i % 2 == 0 ? "black" : "white" }));
            switched.EnsureSuccessStatusCode();
            await Eventually.WaitAsync(() => clock.Keyframes.Any(k => k > called), TimeSpan.FromSeconds(10), "the new camera's keyframe");
            latencies.Add(Stopwatch.GetElapsedTime(called, clock.Keyframes.First(k => k > called)).TotalMilliseconds);
        }

        var sessions = relay.Rtsp.Sessions.Count(s => s.IsPlaying);
        var running = readers.Processes.Count(p => !p.HasExited);
        await decoder.QuitFfmpegAsync(TimeSpan.FromSeconds(20)); // flushes the brightness of every picture it decoded
        using var status = JsonDocument.Parse(await http.GetStringAsync("/api/v1/channels/wall"));
        var metrics = await http.GetStringAsync("/metrics");
        var brightness = decoder.Stdout.Select(l => l.Line).Where(l => l.StartsWith("lavfi.signalstats.YAVG=", StringComparison.Ordinal))
            .Select(l => double.Parse(l["lavfi.signalstats.YAVG=".Length..], CultureInfo.InvariantCulture)).ToList();
        latencies.Sort();
        Output.WriteLine($"switch to first keyframe at a reader, ms: median {latencies[latencies.Count / 2]:0.0}, max {latencies[^1]:0.0}; all {string.Join(" ", latencies.Select(l => l.ToString("0", CultureInfo.InvariantCulture)))}");

        Assert.Equal(10, sessions);
        Assert.Equal(readers.Processes.Count, running);
        Assert.All(recorders, r => Assert.False(r.Closed, "a recorder was disconnected"));
        Assert.InRange(latencies[latencies.Count / 2], 0, 100);
        foreach (var recorder in recorders)
        {
            var packets = recorder.Packets;
            for (var p = 1; p < packets.Count; p++)
            {
                Assert.True((ushort)(packets[p].Sequence - packets[p - 1].Sequence) == 1, $"sequence {packets[p - 1].Sequence} then {packets[p].Sequence}");
                var step = (int)(packets[p].Timestamp - packets[p - 1].Timestamp);
                Assert.True(step is >= 0 and <= 90_000, $"RTP timestamp step {step} at sequence {packets[p].Sequence}");
            }
        }

        // No decoding error anywhere. (The decoding ffmpeg's null muxer does complain that the replayed GOP's frames,
        // 1 ms apart, share a timestamp once rounded to its 1/25 s output time base: that is its output, not decoding.)
        Assert.All(readers.Processes, p => Assert.DoesNotContain(p.Stderr.Split('\n'), l => l.Contains("[error]", StringComparison.Ordinal) && !l.StartsWith("[null @", StringComparison.Ordinal)));
        Assert.All(brightness, y => Assert.True(y is < 40 or > 200, $"a picture of brightness {y:0}: neither camera's (a decoding error)"));
        var changes = brightness.Zip(brightness.Skip(1)).Count(p => (p.First < 128) != (p.Second < 128));
        Assert.InRange(changes, Switches - 1, Switches); // the last switch may still be on its way to the decoder
        Assert.Equal(Switches, status.RootElement.GetProperty("switches").GetInt64());
        Assert.Contains($"relay_channel_switches_total{{channel=\"wall\"}} {Switches}", metrics, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_channel_is_served_on_every_output_checked_kept_over_a_restart_and_a_codec_change_or_deletion_closes_its_readers()
    {
        var stateFile = RelayHost.TemporaryStateFile();
        var settings = new Dictionary<string, string?>
        {
            ["Relay:Streams:white:Source"] = White,
            ["Relay:Streams:hevc:Source"] = "test:size=320x240&fps=25&gop=25&bitrate=300&codec=h265",
            ["Relay:Streams:black:Source"] = Black,
            ["Relay:Channels:lobby"] = "white",
        };
        try
        {
            await using (var relay = await RelayHost.StartAsync(settings, Logs, $"--Relay:StateFile={stateFile}"))
            {
                using var http = new HttpClient { BaseAddress = relay.HttpBase };
                using var created = await http.PostAsync("/api/v1/channels", Json(new { name = "wall", stream = "white" }));
                var unknown = await ProblemAsync(await http.PostAsync("/api/v1/channels", Json(new { name = "x", stream = "nope", colour = 1 })));
                var taken = await ProblemAsync(await http.PostAsync("/api/v1/channels", Json(new { name = "white", stream = "white" })));
                var twice = await ProblemAsync(await http.PostAsync("/api/v1/channels", Json(new { name = "wall", stream = "white" })));
                var streamNamedLikeChannel = await ProblemAsync(await http.PostAsync("/api/v1/streams", Json(new { name = "wall", source = White })));
                var stale = await ProblemAsync(await SendAsync(http, HttpMethod.Put, "/api/v1/channels/wall", new { stream = "white" }, "\"0\""));
                var probed = await Clients.ProbeAsync(relay.RtspUrl("wall"), "tcp");
                using var snapshot = await http.GetAsync("/streams/wall/snapshot.jpg?width=160");
                using var playlist = await http.GetAsync("/streams/lobby/index.m3u8");
                (await http.GetAsync("/streams/lobby/stream.m3u8")).EnsureSuccessStatusCode();
                using var lobbySwitch = await SendAsync(http, HttpMethod.Put, "/api/v1/channels/lobby", new { stream = "black" });
                await Eventually.WaitAsync(
                    async () => (await http.GetStringAsync("/streams/lobby/stream.m3u8")).Contains("#EXT-X-DISCONTINUITY", StringComparison.Ordinal),
                    TimeSpan.FromSeconds(20),
                    "HLS to mark the switch with a discontinuity");

                await using var reader = LiveProcess.Ffmpeg(relay.RtspUrl("wall"), "tcp");
                await reader.WaitForFramesAsync(10, TimeSpan.FromSeconds(20));
                using var toHevc = await SendAsync(http, HttpMethod.Patch, "/api/v1/channels/wall", new { stream = "hevc" }, created.Headers.ETag?.Tag);
                await reader.WaitForExitAsync(TimeSpan.FromSeconds(20)); // the codec changed: its readers were closed
                var hevc = await Clients.ProbeAsync(relay.RtspUrl("wall"), "tcp");

                Assert.Equal(HttpStatusCode.Created, created.StatusCode);
                Assert.Equal(HttpStatusCode.BadRequest, unknown.Status);
                Assert.Equal(["colour", "stream"], unknown.Errors.Order());
                Assert.Equal(HttpStatusCode.Conflict, taken.Status);
                Assert.Equal(HttpStatusCode.Conflict, twice.Status);
                Assert.Equal(HttpStatusCode.Conflict, streamNamedLikeChannel.Status);
                Assert.Equal(HttpStatusCode.PreconditionFailed, stale.Status);
                Assert.Equal("h264", Assert.Single(probed)["codec_name"]);
                Assert.Equal(("image/jpeg", HttpStatusCode.OK), (snapshot.Content.Headers.ContentType?.MediaType, snapshot.StatusCode));
                Assert.Equal(HttpStatusCode.OK, playlist.StatusCode);
                Assert.Equal(HttpStatusCode.OK, lobbySwitch.StatusCode);
                Assert.Equal(HttpStatusCode.OK, toHevc.StatusCode);
                Assert.Equal("hevc", Assert.Single(hevc)["codec_name"]);
                Assert.Contains(Logs.Lines, l => l.Contains("codec changed", StringComparison.Ordinal) && l.Contains("wall", StringComparison.Ordinal));
            }

            await using (var relay = await RelayHost.StartAsync(settings, Logs, $"--Relay:StateFile={stateFile}"))
            {
                using var http = new HttpClient { BaseAddress = relay.HttpBase };
                using var all = JsonDocument.Parse(await http.GetStringAsync("/api/v1/channels"));
                var channels = all.RootElement.EnumerateArray().ToDictionary(c => c.GetProperty("name").GetString()!, c => (c.GetProperty("stream").GetString(), c.GetProperty("origin").GetString()));
                await using var reader = LiveProcess.Ffmpeg(relay.RtspUrl("wall"), "tcp");
                await reader.WaitForFramesAsync(10, TimeSpan.FromSeconds(20));
                using var deleted = await SendAsync(http, HttpMethod.Delete, "/api/v1/channels/wall", null);
                await reader.WaitForExitAsync(TimeSpan.FromSeconds(20));
                var gone = await Clients.DescribeStatusAsync(relay.RtspPort, relay.RtspUrl("wall"));

                Assert.Equal(("hevc", "api"), channels["wall"]);
                Assert.Equal(("black", "api"), channels["lobby"]); // switched through the API: the API's from then on
                Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
                Assert.Equal(404, gone.Status);
            }
        }
        finally
        {
            File.Delete(stateFile);
        }
    }

    private static LiveProcess Gst(Uri url, string transport) =>
        LiveProcess.Start("gst-launch-1.0", "-q", "rtspsrc", $"location={url}", $"protocols={transport}", "latency=100", "!", "rtph264depay", "!", "h264parse", "!", "fakesink");

    /// <summary>The readers of one test, all stopped at its end.</summary>
    private sealed class Readers(params LiveProcess[] processes) : IAsyncDisposable
    {
        private readonly List<RtpRecorder> _recorders = [];

        public IReadOnlyList<LiveProcess> Processes => processes;

        public void Add(IEnumerable<RtpRecorder> recorders) => _recorders.AddRange(recorders);

        public async ValueTask DisposeAsync()
        {
            foreach (var recorder in _recorders)
            {
                await recorder.DisposeAsync();
            }

            foreach (var process in processes)
            {
                await process.DisposeAsync();
            }
        }
    }
}
