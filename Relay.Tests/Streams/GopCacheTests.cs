using Relay.Media;
using Relay.Server.Streams;
using static Relay.Tests.Streams.StreamTestKit;

namespace Relay.Tests.Streams;

public sealed class GopCacheTests
{
    [Fact]
    public void The_cache_holds_the_latest_keyframe_and_what_followed()
    {
        using var cache = new GopCache<AccessUnit>(1 << 20, TimeSpan.FromSeconds(10)) { AnchorTrack = 0 };

        for (var i = 0; i < 60; i++)
        {
            var unit = VideoUnit(i, i % 25 == 0);
            cache.Add(unit);
            unit.Release();
        }

        Assert.Equal(Enumerable.Range(50, 10).Select(i => (byte)i), cache.Units.Select(u => u.Data.Span[0]));
    }

    [Fact]
    public void A_gop_larger_than_the_byte_bound_is_not_cached()
    {
        using var cache = new GopCache<AccessUnit>(10_000, TimeSpan.FromSeconds(10)) { AnchorTrack = 0 };

        for (var i = 0; i < 20; i++)
        {
            var unit = VideoUnit(i, i == 0, size: 1000);
            cache.Add(unit);
            unit.Release();
            Assert.True(cache.Bytes <= 10_000);
        }

        Assert.Empty(cache.Units);
        Assert.Equal(1, cache.Overflows);
    }

    [Fact]
    public void A_gop_longer_than_the_duration_bound_is_not_cached()
    {
        using var cache = new GopCache<AccessUnit>(1 << 20, TimeSpan.FromSeconds(1)) { AnchorTrack = 0 };

        for (var i = 0; i < 30; i++) // 40 ms apart: frame 26 is more than 1 s after the keyframe
        {
            var unit = VideoUnit(i, i == 0);
            cache.Add(unit);
            unit.Release();
        }

        Assert.Empty(cache.Units);

        var next = VideoUnit(30, true);
        cache.Add(next);
        next.Release();
        Assert.Single(cache.Units);
    }

    [Fact]
    public void Without_a_video_anchor_nothing_is_cached()
    {
        using var cache = new GopCache<AccessUnit>(1 << 20, TimeSpan.FromSeconds(10));
        var unit = AudioUnit(0);

        cache.Add(unit);

        Assert.Empty(cache.Units);
        Assert.Equal(1, unit.ReferenceCount);
        unit.Release();
    }
}
