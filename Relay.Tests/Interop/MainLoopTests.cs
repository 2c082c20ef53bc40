using Relay.Server.GStreamer;

namespace Relay.Tests.Interop;

public sealed class MainLoopTests
{
    [Fact]
    public async Task Work_runs_on_the_loop_thread_and_exceptions_come_back()
    {
        using var loop = new GLibMainLoop("test-loop");

        var onLoop = await loop.InvokeAsync(() => loop.IsLoopThread);
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => loop.InvokeAsync<int>(() => throw new InvalidOperationException("boom")));

        Assert.True(onLoop);
        Assert.False(loop.IsLoopThread);
        Assert.Equal("boom", error.Message);
    }

    [Fact]
    public void GStreamer_initialises_once_and_reports_its_version()
    {
        GstRuntime.EnsureInitialized();

        Assert.StartsWith("GStreamer 1.", GstRuntime.Version, StringComparison.Ordinal);
        Assert.True(GstRuntime.HasElement("appsink"));
        Assert.False(GstRuntime.HasElement("no-such-element"));
    }
}
