using Relay.Media;

namespace Relay.Tests.Streams;

public sealed class MediaBufferPoolTests
{
    [Fact]
    public void A_rented_buffer_fits_the_request_with_at_most_a_quarter_more()
    {
        var random = new Random(1234);
        var lengths = Enumerable.Range(0, 300).Select(_ => random.Next(1, 16 << 20))
            .Concat([0, 1, 1023, 1024, 1025, 1280, 1281, 2048, 2049, 65536, 65537, 16 << 20]);

        foreach (var length in lengths)
        {
            var buffer = MediaBufferPool.Rent(length);
            Assert.InRange(buffer.Length, length, Math.Max(1024, length + (length / 4))); // not returned: the pool would keep them
        }
    }

    [Fact]
    public void A_returned_buffer_is_rented_again_for_any_length_of_its_class()
    {
        var first = MediaBufferPool.Rent(40_000); // the 40 KiB class: (32 KiB × 1.25)
        Assert.Equal(40_960, first.Length);
        MediaBufferPool.Return(first);

        var again = MediaBufferPool.Rent(33_000);
        MediaBufferPool.Return(again);
        Assert.Equal(40_960, again.Length);
    }

    [Fact]
    public void Buffers_the_pool_did_not_make_and_requests_over_16_MiB_are_not_kept()
    {
        var odd = new byte[40_000];
        MediaBufferPool.Return(odd);
        var rented = MediaBufferPool.Rent(40_000);
        Assert.NotSame(odd, rented);
        MediaBufferPool.Return(rented);

        var huge = MediaBufferPool.Rent((16 << 20) + 1);
        Assert.Equal((16 << 20) + 1, huge.Length);
    }

    [Fact]
    public void A_trim_drops_only_the_buffers_that_were_not_rented_since_the_previous_trim()
    {
        var sizeClass = new MediaBufferPool.SizeClass(capacity: 8);
        for (var i = 0; i < 6; i++)
        {
            sizeClass.Return(new byte[1024]);
        }

        Assert.Equal(0, sizeClass.Trim()); // returned during this interval: not idle for a whole one yet
        Assert.Equal(6, sizeClass.Count);

        var a = sizeClass.TryRent()!;
        var b = sizeClass.TryRent()!;
        sizeClass.Return(a);
        sizeClass.Return(b);
        Assert.Equal(4 * 1024, sizeClass.Trim()); // two were needed in this interval, four were not
        Assert.Equal(2, sizeClass.Count);

        Assert.Equal(2 * 1024, sizeClass.Trim()); // an interval in which nothing was rented
        Assert.Equal(0, sizeClass.Count);
        Assert.Null(sizeClass.TryRent());
    }

    [Fact]
    public void A_size_class_keeps_no_more_than_its_capacity()
    {
        var sizeClass = new MediaBufferPool.SizeClass(capacity: 2);
        for (var i = 0; i < 5; i++)
        {
            sizeClass.Return(new byte[1024]);
        }

        Assert.Equal(2, sizeClass.Count);
    }
}
