using Microsoft.Extensions.Time.Testing;
using Relay.Media;
using Relay.Server.Streams;
using static Relay.Tests.Streams.StreamTestKit;

namespace Relay.Tests.Streams;

public sealed class FrameQueueTests
{
    private readonly FakeTimeProvider _time = new();

    [Fact]
    public void The_byte_bound_applies_as_well_as_the_frame_bound()
    {
        using var queue = new FrameQueue<AccessUnit>(new FrameQueueOptions(1000, 5_000, TimeSpan.FromSeconds(10)), _time, startAtKeyframe: false);

        for (var i = 0; i < 10; i++)
        {
            var unit = VideoUnit(i, i == 0, size: 1000);
            queue.TryWrite(unit);
            unit.Release();
        }

        Assert.Equal(5, queue.Count);
        Assert.Equal(5_000, queue.Bytes);
        Assert.Equal(5, queue.Skipped);
    }

    [Fact]
    public async Task A_reader_stuck_with_a_full_queue_past_the_stall_timeout_is_cut_off()
    {
        using var queue = new FrameQueue<AccessUnit>(new FrameQueueOptions(5, 1 << 20, TimeSpan.FromSeconds(10)), _time, startAtKeyframe: false);
        for (var i = 0; i < 6; i++)
        {
            var unit = VideoUnit(i, i == 0);
            queue.TryWrite(unit);
            unit.Release();
        }

        Assert.False(queue.Faulted.IsCancellationRequested);
        _time.Advance(TimeSpan.FromSeconds(11));
        var late = VideoUnit(6, false);
        Assert.False(queue.TryWrite(late));
        late.Release();

        Assert.True(queue.Faulted.IsCancellationRequested);
        while (queue.TryRead(out var unit))
        {
            unit.Release();
        }

        await Assert.ThrowsAsync<ReaderTooSlowException>(() => queue.WaitToReadAsync(CancellationToken.None).AsTask());
    }

    [Fact]
    public void Disposing_the_queue_releases_what_it_held()
    {
        var queue = new FrameQueue<AccessUnit>(FrameQueueOptions.Default, _time, startAtKeyframe: false);
        var unit = VideoUnit(0, true);
        queue.TryWrite(unit);
        Assert.Equal(2, unit.ReferenceCount);

        queue.Dispose();

        Assert.Equal(1, unit.ReferenceCount);
        Assert.False(queue.TryWrite(unit));
        unit.Release();
    }
}
