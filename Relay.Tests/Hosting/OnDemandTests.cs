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
        Assert.True(relay.Streams.TryGet("cam1", out var runtime));

        await Task.Delay(TimeSpan.FromSeconds(1)); // the scenario: the relay runs with nobody reading
        var sessionsBeforeReaders = camera.SessionCount;
        var stateBeforeReaders = runtime.Status.State;

        await using var first = LiveProcess.Ffmpeg(relay.RtspUrl("cam1"), "tcp");
        await first.WaitForFramesAsync(25, Timeout);
        var sessionsWhileReading = camera.SessionCount;
        var second = await FirstVideoNalTypesAsync(relay.RtspUrl("cam1"));
        await first.DisposeAsync();
        Output.WriteLine($"relay sessions after the readers left: {relay.Rtsp.Sessions.Count}, leases {runtime.Stream.Leases}");
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

    private static async Task<List<int>> FirstVideoNalTypesAsync(Uri url)
    {
        var file = Path.GetTempFileName();
        try
        {
            var result = await ExternalProcess.RunAsync(
                "gst-launch-1.0",
                ["-q", "rtspsrc", $"location={url}", "protocols=tcp", "!", "application/x-rtp,media=video", "!", "identity", "eos-after=10", "!", "rtpstreampay", "!", "filesink", $"location={file}"],
                Timeout);
            Assert.True(result.ExitCode == 0, result.Stderr);
            var bytes = await File.ReadAllBytesAsync(file);
            var types = new List<int>();
            for (var offset = 0; offset + 2 < bytes.Length && types.Count < 3;)
            {
                var length = (bytes[offset] << 8) | bytes[offset + 1];
                var payload = bytes.AsSpan(offset + 2 + 12, length - 12);
                offset += 2 + length;
                var type = payload[0] & 0x1F;
                if (type == 28)
                {
                    if ((payload[1] & 0x80) == 0)
                    {
                        continue;
                    }

                    type = payload[1] & 0x1F;
                }

                types.Add(type);
            }

            return types;
        }
        finally
        {
            File.Delete(file);
        }
    }
}
