using System.Net;
using System.Text.Json;
using Relay.Tests.Fixtures;
using Xunit.Abstractions;

namespace Relay.Tests.Api;

/// <summary>The status API: what an operator (or the manager page) sees of each stream.</summary>
public sealed class StreamsApiTests(ITestOutputHelper output) : InteropTestBase(output)
{
    [Fact]
    public async Task A_stream_reports_its_state_tracks_bitrate_and_readers()
    {
        await using var relay = await RelayHost.StartAsync(new Dictionary<string, string?> { ["Relay:Streams:demo:Source"] = "test:size=320x240&fps=25&gop=25&bitrate=500&audio=aac" }, Logs);
        await using var reader = LiveProcess.Ffmpeg(relay.RtspUrl("demo"), "tcp");
        await reader.WaitForFramesAsync(60, TimeSpan.FromSeconds(30));
        using var http = new HttpClient { BaseAddress = relay.HttpBase };

        using var one = JsonDocument.Parse(await http.GetStringAsync("/api/v1/streams/demo"));
        using var all = JsonDocument.Parse(await http.GetStringAsync("/api/v1/streams"));
        var missing = await http.GetAsync("/api/v1/streams/nope");

        var s = one.RootElement;
        Assert.Equal("demo", s.GetProperty("name").GetString());
        Assert.Equal("Online", s.GetProperty("state").GetString());
        Assert.True(s.GetProperty("online").GetBoolean());
        var tracks = s.GetProperty("tracks").EnumerateArray().ToList();
        Assert.Equal(["h264", "aac"], tracks.Select(t => t.GetProperty("codec").GetString()));
        Assert.Equal(320, tracks[0].GetProperty("width").GetInt32());
        Assert.True(tracks[0].GetProperty("bitrateBitsPerSecond").GetDouble() > 50_000);
        var readers = s.GetProperty("readers").EnumerateArray().ToList();
        var r = Assert.Single(readers);
        Assert.Equal("rtsp/tcp", r.GetProperty("protocol").GetString());
        Assert.Equal("127.0.0.1", r.GetProperty("remoteAddress").GetString());
        Assert.True(r.GetProperty("bytesSent").GetInt64() > 0);
        Assert.Equal(0, r.GetProperty("skippedFrames").GetInt64());
        Assert.Equal(1, all.RootElement.GetArrayLength());
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        Assert.Equal("application/problem+json", missing.Content.Headers.ContentType?.MediaType);
    }
}
