using Microsoft.Extensions.Time.Testing;
using Relay.Server;

namespace Relay.Tests;

public sealed class ReportThrottleTests
{
    [Fact]
    public void The_first_event_is_reported_at_once_then_at_most_once_per_interval_with_the_count_since()
    {
        var time = new FakeTimeProvider();
        var throttle = new ReportThrottle(time, TimeSpan.FromSeconds(10));

        var first = throttle.Count(out var firstCount);
        var quiet = Enumerable.Range(0, 4).Select(i => throttle.Count(out _)).ToList();
        time.Advance(TimeSpan.FromSeconds(9.9));
        var stillQuiet = throttle.Count(out _);
        time.Advance(TimeSpan.FromSeconds(0.1));
        var next = throttle.Count(out var nextCount);

        Assert.True(first);
        Assert.Equal(1, firstCount);
        Assert.All(quiet, Assert.False);
        Assert.False(stillQuiet);
        Assert.True(next);
        Assert.Equal(6, nextCount); // the 4 + 1 held back, and this one
    }
}
