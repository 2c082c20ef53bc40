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
}
