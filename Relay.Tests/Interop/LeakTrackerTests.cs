using Relay.Server.GStreamer;
using Relay.Server.Interop;
using GstState = Relay.Server.Interop.GstState;
using Relay.Tests.Fixtures;
using Xunit.Abstractions;

namespace Relay.Tests.Interop;

/// <summary>
/// The leak check that every interop test runs (see <see cref="InteropTestBase"/>) can fail: a handle left to
/// its finalizer is caught, and one that is disposed is not.
/// </summary>
public sealed class LeakTrackerTests(ITestOutputHelper output) : InteropTestBase(output)
{
    [Fact]
    public void A_handle_left_to_the_finalizer_is_recorded()
    {
        LeakTracker.Drain();

        LeakOneElement();
        GC.Collect();
        GC.WaitForPendingFinalizers();

        var leaks = LeakTracker.Drain();
        Assert.Contains(leaks, l => l.StartsWith(nameof(GstObjectHandle), StringComparison.Ordinal));
    }

    [Fact]
    public void Disposed_pipelines_and_elements_leave_nothing_to_the_finalizer()
    {
        using (var pipeline = Pipeline.Parse("videotestsrc num-buffers=5 ! fakesink name=sink", _ => { }))
        {
            using var sink = pipeline.GetByName("sink");
            Assert.NotNull(sink);
            using var pad = sink.GetStaticPad("sink");
            Assert.NotNull(pad);
            pipeline.SetState(GstState.Playing);
        }

        GC.Collect();
        GC.WaitForPendingFinalizers();
        Assert.Empty(LeakTracker.Drain());
    }

    [Fact]
    public void A_missing_element_is_a_typed_error()
    {
        var error = Assert.Throws<GstException>(() => Element.Make("no-such-element-anywhere"));

        Assert.Contains("no-such-element-anywhere", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_bad_pipeline_description_is_a_typed_error()
    {
        var error = Assert.Throws<GstException>(() => Pipeline.Parse("videotestsrc ! ! fakesink", _ => { }));

        Assert.Contains("Bad pipeline description", error.Message, StringComparison.Ordinal);
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private static void LeakOneElement() => _ = Element.Make("fakesink");
}
