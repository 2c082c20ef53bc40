using System.Net;
using System.Text.Json;
using Relay.Tests.Fixtures;
using static Relay.Tests.Fixtures.ApiRequests;
using Xunit.Abstractions;

namespace Relay.Tests.Hosting;

/// <summary>One configuration for a whole site: each relay pulls only its own node's cameras and says where the others are.</summary>
public sealed class PerNodeTests(ITestOutputHelper output) : InteropTestBase(output)
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);
    private static readonly string[] NodeB = ["edge-b"];

    [Fact]
    public async Task Two_relay_processes_with_one_configuration_each_pull_only_their_nodes_cameras_and_list_the_others_as_elsewhere()
    {
        await using var doorCamera = await FakeCamera.StartAsync(new FakeCameraOptions { Path = "/door" });
        await using var yardCamera = await FakeCamera.StartAsync(new FakeCameraOptions { Path = "/yard" });
        var site = Path.Combine(Path.GetTempPath(), $"relay-site-{Guid.NewGuid():N}.json");
        await File.WriteAllTextAsync(site, $$"""
            {
              "Relay": {
                "Streams": {
                  "door": { "Source": "{{doorCamera.Url}}", "Node": "Edge-A" },
                  "yard": { "Source": "{{yardCamera.Url}}", "Node": ["edge-b", "edge-c"] },
                  "pattern": { "Source": "test:size=160x120&fps=10&gop=10&bitrate=100" }
                }
              }
            }
            """);
        try
        {
            // Both get their node name as a DaemonSet gives it: NODE_NAME in the environment.
            await using var a = await RelayProcess.StartAsync(Output, new Dictionary<string, string?> { ["NODE_NAME"] = "edge-a" }, $"--config={site}");
            await using var b = await RelayProcess.StartAsync(Output, new Dictionary<string, string?> { ["NODE_NAME"] = "edge-b" }, $"--config={site}");
            using var httpA = new HttpClient { BaseAddress = a.HttpBase };
            using var httpB = new HttpClient { BaseAddress = b.HttpBase };
            await Eventually.WaitAsync(async () => await StateAsync(httpA, "door") == "Online" && await StateAsync(httpB, "yard") == "Online", Timeout, "each relay to pull its own node's camera");
            await Eventually.WaitAsync(async () => await StateAsync(httpA, "pattern") == "Online" && await StateAsync(httpB, "pattern") == "Online", Timeout, "both relays to run the stream without a node");
            var doorOnA = await Clients.ProbeAsync(a.RtspUrl("door"), "tcp");
            var (doorSessions, yardSessions) = (doorCamera.SessionCount, yardCamera.SessionCount);
            using var doorOnB = JsonDocument.Parse(await httpB.GetStringAsync("/api/v1/streams/door"));
            using var list = JsonDocument.Parse(await httpA.GetStringAsync("/api/v1/streams"));
            using var server = JsonDocument.Parse(await httpB.GetStringAsync("/api/v1/server"));
            var doorReadOnB = await Clients.DescribeStatusAsync(b.RtspPort, b.RtspUrl("door"));
            using var moved = await SendAsync(httpB, HttpMethod.Patch, "/api/v1/streams/door", new { node = NodeB });
            await Eventually.WaitAsync(async () => await StateAsync(httpB, "door") == "Online", Timeout, "relay b to pull the door camera once the API makes it b's");

            Assert.Equal((1, 1), (doorSessions, yardSessions)); // each camera saw its own node's relay alone
            Assert.Equal("h264", Assert.Single(doorOnA)["codec_name"]);
            Assert.Equal("Elsewhere", doorOnB.RootElement.GetProperty("state").GetString());
            Assert.Equal(["edge-a"], doorOnB.RootElement.GetProperty("nodes").EnumerateArray().Select(n => n.GetString()));
            Assert.Equal(404, doorReadOnB.Status); // b does not serve a camera it does not pull
            var states = list.RootElement.EnumerateArray().ToDictionary(s => s.GetProperty("name").GetString()!, s => s.GetProperty("state").GetString());
            Assert.Equal(("Online", "Elsewhere", "Online"), (states["door"], states["yard"], states["pattern"]));
            Assert.Equal("edge-b", server.RootElement.GetProperty("node").GetString());
            Assert.Equal(HttpStatusCode.OK, moved.StatusCode);
        }
        finally
        {
            File.Delete(site);
        }
    }

    private static async Task<string?> StateAsync(HttpClient http, string stream)
    {
        using var response = await http.GetAsync($"/api/v1/streams/{stream}");
        if (!response.IsSuccessStatusCode)
        {
            return null;
        }

        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return body.RootElement.GetProperty("state").GetString();
    }

    [Fact]
    public async Task Without_a_node_name_every_stream_runs_and_the_pinned_ones_are_named_in_a_warning()
    {
        await using var relay = await RelayHost.StartAsync(
            new Dictionary<string, string?>
            {
                ["Relay:Streams:pinned:Source"] = "test:size=160x120&fps=10&gop=10&bitrate=100",
                ["Relay:Streams:pinned:Node"] = "edge-a",
            },
            Logs);

        await Eventually.WaitAsync(() => relay.Streams.FindStream("pinned")?.Hub.IsOnline == true, Timeout, "the pinned stream to run");
        Assert.Contains(Logs.Lines, l => l.Contains("has no node name", StringComparison.Ordinal) && l.Contains("pinned", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_node_name_that_is_not_one_is_a_configuration_error()
    {
        var error = await Assert.ThrowsAsync<Relay.Server.Hosting.RelayConfigurationException>(() => RelayHost.StartAsync(
            new Dictionary<string, string?>
            {
                ["Relay:Streams:cam:Source"] = "test:",
                ["Relay:Streams:cam:Node"] = "edge_a!",
            }));

        Assert.Contains(error.Errors, e => e.StartsWith("Relay:Streams:cam:Node:", StringComparison.Ordinal) && e.Contains("edge_a!", StringComparison.Ordinal));
    }
}
