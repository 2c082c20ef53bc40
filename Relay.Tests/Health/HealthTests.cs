using System.Net;
using Relay.Tests.Fixtures;
using Xunit.Abstractions;

namespace Relay.Tests.Health;

public sealed class HealthTests(ITestOutputHelper output) : InteropTestBase(output)
{
    [Fact]
    public async Task The_relay_is_live_and_ready_even_when_a_camera_is_down()
    {
        await using var relay = await RelayHost.StartAsync(new Dictionary<string, string?> { ["Relay:Streams:dead:Source"] = "rtsp://127.0.0.1:1/nothing" }, Logs);
        using var http = new HttpClient { BaseAddress = relay.HttpBase };

        var live = await http.GetAsync("/healthz");
        var ready = await http.GetAsync("/readyz");

        Assert.Equal(HttpStatusCode.OK, live.StatusCode);
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        Assert.Equal("ready\n", await ready.Content.ReadAsStringAsync());
    }
}
