using Relay.Configuration;
using Relay.Tests.Fixtures;
using Xunit.Abstractions;

namespace Relay.Tests.Hosting;

/// <summary>On-demand streams pull the camera only while someone reads.</summary>
public sealed class OnDemandTests(ITestOutputHelper output) : InteropTestBase(output)
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task The_camera_is_pulled_only_while_someone_reads()
    {
        await using var camera = await FakeCamera.StartAsync();
        await using var relay = await RelayHost.StartAsync(
            new Dictionary<string, string?>
            {
                ["Relay:Streams:cam1:Source"] = camera.Url.ToString(),
                ["Relay:Streams:cam1:OnDemand"] = "true",
                ["Relay:Streams:cam1:IdleTimeout"] = "2s",
            },
            Logs);
        Assert.True(relay.Streams.TryGetStream("cam1", out var runtime));

        await Task.Delay(TimeSpan.FromSeconds(1)); // the scenario: the relay runs with nobody reading
        var sessionsBeforeReaders = camera.SessionCount;
        var stateBeforeReaders = runtime.Status.State;

        await using var first = LiveProcess.Ffmpeg(relay.RtspUrl("cam1"), "tcp");
        await first.WaitForFramesAsync(25, Timeout);
        var sessionsWhileReading = camera.SessionCount;
        var second = await Clients.FirstVideoNalTypesAsync(relay.RtspUrl("cam1"), "tcp", packets: 10);
        await first.DisposeAsync();
        Output.WriteLine($"relay sessions after the readers left: {relay.Rtsp.Sessions.Count}, leases {runtime.Hub.Leases}");
        var left = DateTime.UtcNow;
        await Eventually.WaitAsync(() => camera.SessionCount == 0, TimeSpan.FromSeconds(10), "the camera session to end");
        var closedAfter = DateTime.UtcNow - left;

        Assert.True(sessionsBeforeReaders == 0, $"camera sessions before any reader: {sessionsBeforeReaders}");
        Assert.True(stateBeforeReaders == StreamState.Idle, $"state before any reader: {stateBeforeReaders}");
        Assert.True(sessionsWhileReading == 1, $"camera sessions while two readers read: {sessionsWhileReading}");
        Assert.True(second.SequenceEqual([7, 8, 5]), $"the second reader's first NAL types: {string.Join(",", second)}");
        Assert.InRange(closedAfter, TimeSpan.FromSeconds(1.5), TimeSpan.FromSeconds(2 + 2));
        Assert.Equal(StreamState.Idle, runtime.Status.State);
    }

    [Fact]
    public async Task Describe_starts_an_idle_stream_and_answers_within_the_bounded_wait()
    {
        await using var camera = await FakeCamera.StartAsync();
        await using var relay = await RelayHost.StartAsync(
            new Dictionary<string, string?> { ["Relay:Streams:cam1:Source"] = camera.Url.ToString(), ["Relay:Streams:cam1:OnDemand"] = "true" },
            Logs);

        var streams = await Clients.ProbeAsync(relay.RtspUrl("cam1"), "tcp");

        Assert.Equal("h264", Assert.Single(streams)["codec_name"]);
    }
}
