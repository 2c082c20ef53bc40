using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Relay.Tests.Fixtures;
using Xunit.Abstractions;

namespace Relay.Tests.Api;

/// <summary>
/// HTTP with users and tokens configured: the API, the pages, the stream outputs and (when protected) /metrics need
/// credentials with the right scope; a real Prometheus scrapes with its token; no secret shows anywhere.
/// </summary>
public sealed class HttpAuthTests(ITestOutputHelper output) : InteropTestBase(output)
{
    private const string ViewerPassword = "viewer-http-s3cret";
    private const string AdminPassword = "admin-http-s3cret";

    [Fact]
    public async Task The_api_needs_a_token_a_read_token_cannot_write_and_a_write_token_can()
    {
        var settings = Settings();
        var read = settings.AddToken("dashboard", "read");
        var write = settings.AddToken("automation", "read,write");
        await using var relay = await RelayHost.StartAsync(settings, Logs);
        using var http = new HttpClient { BaseAddress = relay.HttpBase };
        var body = new { source = "test:size=160x120&fps=10" };

        using var anonymous = await http.GetAsync("/api/v1/streams");
        using var wrongToken = await Send(http, HttpMethod.Get, "/api/v1/streams", Bearer("relay_not-a-token"));
        using var listed = await Send(http, HttpMethod.Get, "/api/v1/streams", Bearer(read));
        using var readWrites = await Send(http, HttpMethod.Put, "/api/v1/streams/made", Bearer(read), body);
        using var loopbackWrites = await Send(http, HttpMethod.Put, "/api/v1/streams/made", null, body);
        using var written = await Send(http, HttpMethod.Put, "/api/v1/streams/made", Bearer(write), body);
        using var managePage = await Send(http, HttpMethod.Get, "/manage", Bearer(read));
        using var health = await http.GetAsync("/healthz");
        using var metrics = await http.GetAsync("/metrics"); // open unless Relay:Auth:ProtectMetrics

        Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
        Assert.Contains(anonymous.Headers.WwwAuthenticate, h => h.Scheme == "Basic");
        Assert.Contains(anonymous.Headers.WwwAuthenticate, h => h.Scheme == "Bearer");
        Assert.Equal(HttpStatusCode.Unauthorized, wrongToken.StatusCode);
        Assert.Equal(HttpStatusCode.OK, listed.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, readWrites.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, loopbackWrites.StatusCode); // loopback alone no longer writes
        Assert.Equal(HttpStatusCode.Created, written.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, managePage.StatusCode);
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        Assert.Equal(HttpStatusCode.OK, metrics.StatusCode);
        await AssertNoSecretAnywhereAsync(relay, http, Bearer(write), read, write);
    }

    [Fact]
    public async Task Users_see_and_play_only_their_streams_in_the_browser_outputs_and_the_api()
    {
        var settings = Settings().AddUser("viewer", ViewerPassword, read: "demo").AddUser("admin", AdminPassword, scopes: "read,write");
        await using var relay = await RelayHost.StartAsync(settings, Logs);
        using var http = new HttpClient { BaseAddress = relay.HttpBase };
        var viewer = Basic("viewer", ViewerPassword);
        var admin = Basic("admin", AdminPassword);

        using var page = await Send(http, HttpMethod.Get, "/", viewer);
        using var anonymousPage = await http.GetAsync("/");
        using var wrongPassword = await Send(http, HttpMethod.Get, "/", Basic("viewer", "guess"));
        using var list = await Send(http, HttpMethod.Get, "/api/v1/streams", viewer);
        using var hidden = await Send(http, HttpMethod.Get, "/api/v1/streams/lobby", viewer);
        using var snapshot = await Send(http, HttpMethod.Get, "/streams/demo/snapshot.jpg", viewer);
        using var otherSnapshot = await Send(http, HttpMethod.Get, "/streams/lobby/snapshot.jpg", viewer);
        using var channelPlaylist = await Send(http, HttpMethod.Get, "/streams/front/index.m3u8", viewer);
        using var adminManage = await Send(http, HttpMethod.Get, "/manage", admin);
        using var viewerWrite = await Send(http, HttpMethod.Delete, "/api/v1/streams/lobby", viewer);
        var names = System.Text.Json.JsonDocument.Parse(await list.Content.ReadAsStringAsync()).RootElement.EnumerateArray().Select(s => s.GetProperty("name").GetString()).ToList();

        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, anonymousPage.StatusCode);
        Assert.Contains(anonymousPage.Headers.WwwAuthenticate, h => h.Scheme == "Basic" && h.Parameter!.Contains("realm=\"Relay\"", StringComparison.Ordinal)); // the browser asks
        Assert.Equal(HttpStatusCode.Unauthorized, wrongPassword.StatusCode);
        Assert.Equal(["demo"], names);
        Assert.Equal(HttpStatusCode.NotFound, hidden.StatusCode);
        Assert.Equal(HttpStatusCode.OK, snapshot.StatusCode);
        Assert.Equal("image/jpeg", snapshot.Content.Headers.ContentType?.MediaType);
        Assert.Equal(HttpStatusCode.Forbidden, otherSnapshot.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, channelPlaylist.StatusCode);
        Assert.Equal(HttpStatusCode.OK, adminManage.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, viewerWrite.StatusCode);
        await AssertNoSecretAnywhereAsync(relay, http, admin, ViewerPassword, AdminPassword);
    }

    [Fact]
    public async Task Protected_metrics_are_scraped_by_prometheus_with_its_token_and_refused_without()
    {
        var settings = Settings();
        settings["Relay:Auth:ProtectMetrics"] = "true";
        var scraper = settings.AddToken("prometheus", "metrics");
        var reader = settings.AddToken("dashboard", "read");
        await using var relay = await RelayHost.StartAsync(settings, Logs);
        using var http = new HttpClient { BaseAddress = relay.HttpBase };

        using var anonymous = await http.GetAsync("/metrics");
        using var readToken = await Send(http, HttpMethod.Get, "/metrics", Bearer(reader));
        using var scraperApi = await Send(http, HttpMethod.Get, "/api/v1/streams", Bearer(scraper));
        await using var prometheus = await PrometheusServer.StartAsync(relay.HttpBase, scraper);
        var up = await prometheus.WaitForAsync("relay_stream_up{stream=\"demo\"}", v => v == 1, TimeSpan.FromSeconds(45));

        Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, readToken.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, scraperApi.StatusCode);
        Assert.Equal(1, up);
    }

    private static Dictionary<string, string?> Settings() => new()
    {
        ["Relay:Streams:demo:Source"] = "test:size=320x240&fps=25&gop=25&bitrate=300",
        ["Relay:Streams:lobby:Source"] = "test:size=320x240&fps=25&gop=25&bitrate=300",
        ["Relay:Channels:front"] = "demo",
    };

    private static AuthenticationHeaderValue Bearer(string token) => new("Bearer", token);

    private static AuthenticationHeaderValue Basic(string user, string password) =>
        new("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{user}:{password}")));

    private static Task<HttpResponseMessage> Send(HttpClient http, HttpMethod method, string path, AuthenticationHeaderValue? authorization, object? body = null)
    {
        var request = new HttpRequestMessage(method, path) { Content = body is null ? null : ApiRequests.Json(body) };
        request.Headers.Authorization = authorization;
        return http.SendAsync(request);
    }

    /// <summary>Reads everything a client or operator can see (API, pages, metrics, logs) and fails if a secret is in it.</summary>
    private async Task AssertNoSecretAnywhereAsync(RelayHost relay, HttpClient http, AuthenticationHeaderValue authorization, params string[] secrets)
    {
        var seen = new StringBuilder();
        foreach (var path in new[] { "/api/v1/streams", "/api/v1/channels", "/api/v1/server", "/metrics", "/", "/manage", "/openapi/v1.json" })
        {
            using var response = await Send(http, HttpMethod.Get, path, authorization);
            seen.AppendLine(await response.Content.ReadAsStringAsync());
        }

        seen.AppendJoin('\n', Logs.Lines);
        var text = seen.ToString();
        foreach (var secret in secrets)
        {
            Assert.DoesNotContain(secret, text, StringComparison.Ordinal);
        }
    }
}
