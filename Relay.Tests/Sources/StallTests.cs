using Relay.Tests.Fixtures;
using Xunit.Abstractions;

namespace Relay.Tests.Sources;

/// <summary>A camera that hangs half-open (connection up, no media) is reconnected by the stall watchdog.</summary>
public sealed class StallTests(ITestOutputHelper output) : InteropTestBase(output)
{
    [Fact]
    public async Task A_camera_that_stops_sending_is_reconnected_and_readers_resume()
    {
        await using var camera = await FakeCamera.StartAsync();
        await using var proxy = new FreezableProxy(camera.Port);
        await using var relay = await RelayHost.StartAsync(
            new Dictionary<string, string?>
            {
                ["Relay:Streams:cam1:Source"] = $"rtsp://127.0.0.1:{proxy.Port}/cam",
                ["Relay:Streams:cam1:StallTimeout"] = "2s",
            },
            Logs);
        Assert.True(relay.Streams.TryGetStream("cam1", out var runtime));
        await using var reader = LiveProcess.Ffmpeg(relay.RtspUrl("cam1"), "tcp");
        await reader.WaitForFramesAsync(25, TimeSpan.FromSeconds(30));

        proxy.FreezeAll();
        var frozenAt = reader.Frames;
        await reader.WaitForFramesAsync(frozenAt + 50, TimeSpan.FromSeconds(30));

        Assert.Equal(2, runtime.Hub.Epochs);
        Assert.Equal(Relay.Configuration.RelayError.SourceStalled, runtime.Status.LastError);
        Assert.False(reader.HasExited);
    }
}
