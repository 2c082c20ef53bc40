using System.Net;
using System.Text.Json;
using Microsoft.Extensions.Configuration;
using Relay.Server.Configuration;
using Relay.Server.Sources;
using Relay.Tests.Fixtures;
using Xunit.Abstractions;

namespace Relay.Tests.Push;

/// <summary>Push targets as configured and through the API: validated, redacted, kept when sent back redacted, on-demand exempt.</summary>
public sealed class PushConfigurationTests(ITestOutputHelper output) : InteropTestBase(output)
{
    [Theory]
    [InlineData("Relay:Streams:cam:Push:yt:Url", "http://example.com/live/key", "Relay:Streams:cam:Push:yt:Url")]
    [InlineData("Relay:Streams:cam:Push:yt:Url", "rtmp:///live/key", "Relay:Streams:cam:Push:yt:Url")]
    [InlineData("Relay:Streams:cam:Push:bad name:Url", "rtmp://example.com/live/key", "Relay:Streams:cam:Push:bad name")]
    [InlineData("Relay:Streams:cam:Push:yt:Enable", "true", "Relay:Streams:cam:Push:yt:Enable")]
    public void Bad_push_settings_are_named(string key, string value, string named)
    {
        var settings = new Dictionary<string, string?> { ["Relay:Streams:cam:Source"] = "test:", ["Relay:Streams:cam:Push:yt:Url"] = "rtmp://example.com/live/key" };
        settings[key] = value;

        var (config, errors) = RelayConfigLoader.Load(new ConfigurationBuilder().AddInMemoryCollection(settings).Build());

        Assert.Null(config);
        Assert.Contains(errors, e => e.StartsWith(named, StringComparison.Ordinal));
        Assert.DoesNotContain(errors, e => e.Contains("/live/key", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("rtmp://a.rtmp.youtube.com/live2/abcd-efgh-ijkl", "rtmp://a.rtmp.youtube.com/live2/***")]
    [InlineData("rtmps://live-api-s.facebook.com:443/rtmp/FB-123-0-Ab", "rtmps://live-api-s.facebook.com:443/rtmp/***")]
    [InlineData("rtsp://user:pw@wowza.example:1935/live/cam1", "rtsp://***@wowza.example:1935/live/cam1")]
    public void Push_urls_are_redacted(string url, string redacted) => Assert.Equal(redacted, SourceUri.Redact(new Uri(url)));

    [Fact]
    public async Task A_push_target_is_made_through_the_api_kept_when_sent_back_redacted_and_pulls_an_on_demand_camera()
    {
        await using var rtmp = await NginxRtmp.StartAsync();
        await using var relay = await RelayHost.StartAsync(new Dictionary<string, string?>(), Logs);
        using var http = new HttpClient { BaseAddress = relay.HttpBase };
        var key = rtmp.Url("api-key-77");

        using var created = await ApiRequests.SendAsync(http, HttpMethod.Put, "/api/v1/streams/door", new { source = "test:size=320x240&fps=25", onDemand = true, push = new { live = key.ToString() } });
        var settings = JsonDocument.Parse(await created.Content.ReadAsStringAsync()).RootElement.GetProperty("settings");
        var shown = settings.GetProperty("push:live:Url").GetString()!;
        using var sentBack = await ApiRequests.SendAsync(http, HttpMethod.Patch, "/api/v1/streams/door", new Dictionary<string, object> { ["push"] = new Dictionary<string, string> { ["live"] = shown }, ["idleTimeout"] = "5s" });
        await Eventually.WaitAsync(
            async () => JsonDocument.Parse(await http.GetStringAsync("/api/v1/streams/door")).RootElement.GetProperty("push")[0].GetProperty("state").GetString() == "pushing",
            TimeSpan.FromSeconds(45),
            "the on-demand stream to be pulled and pushed with nobody reading");

        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        Assert.Equal($"rtmp://127.0.0.1:{rtmp.Port}/live/***", shown);
        Assert.Equal(HttpStatusCode.OK, sentBack.StatusCode);
        Assert.Equal(key.ToString(), relay.Streams.ConfigOf("door")!.Push.Single().Url); // the key was kept
        Assert.DoesNotContain("api-key-77", string.Join('\n', Logs.Lines), StringComparison.Ordinal);
    }
}
