using Relay.Tests.Fixtures;
using Xunit.Abstractions;

namespace Relay.Tests.Rtsp;

/// <summary>A reader that stops reading never slows the stream or other readers, and is cut off after the stall timeout.</summary>
public sealed class SlowReaderTests(ITestOutputHelper output) : InteropTestBase(output)
{
    [Fact]
    public async Task A_stopped_reader_is_disconnected_while_another_keeps_every_frame()
    {
        await using var relay = await RelayHost.StartAsync(
            new Dictionary<string, string?>
            {
                ["Relay:Streams:demo:Source"] = "test:size=640x360&fps=25&gop=25&bitrate=4000",
                ["Relay:Streams:demo:ReaderStallTimeout"] = "3s",
                ["Relay:Streams:demo:ReaderQueueMaxBytes"] = "1000000",
            },
            Logs);
        await using var stuck = LiveProcess.Ffmpeg(relay.RtspUrl("demo"), "tcp");
        await stuck.WaitForFramesAsync(10, TimeSpan.FromSeconds(30));
        var stuckSession = Assert.Single(relay.Rtsp.Sessions).Id;

        System.Diagnostics.Process.Start("kill", ["-STOP", stuck.Pid.ToString(System.Globalization.CultureInfo.InvariantCulture)])!.WaitForExit();
        try
        {
            var healthy = await Clients.ReadWithFfmpegAsync(relay.RtspUrl("demo"), "tcp", seconds: 12);
            await Eventually.WaitAsync(() => !relay.Rtsp.Sessions.Any(s => s.Id == stuckSession), TimeSpan.FromSeconds(20), "the stopped reader to be disconnected");

            Assert.True(healthy.ExitCode == 0, healthy.Result.Stderr);
            Assert.Empty(healthy.Problems);
            Assert.InRange(healthy.Frames, 295, 335);
            Assert.Contains(Logs.Lines, l => l.Contains("could not keep up", StringComparison.Ordinal));
        }
        finally
        {
            System.Diagnostics.Process.Start("kill", ["-CONT", stuck.Pid.ToString(System.Globalization.CultureInfo.InvariantCulture)])!.WaitForExit();
        }
    }
}
