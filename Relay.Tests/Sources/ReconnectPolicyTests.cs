using Relay.Configuration;
using Relay.Server.Sources;

namespace Relay.Tests.Sources;

public sealed class ReconnectPolicyTests
{
    private static readonly StreamConfig Config = new() { Name = "cam1", Source = new Uri("rtsp://h/x"), RetryDelay = TimeSpan.FromSeconds(0.5), MaxRetryDelay = TimeSpan.FromSeconds(30) };

    [Fact]
    public void A_camera_that_never_answered_backs_off_exponentially_up_to_the_cap()
    {
        var delays = Enumerable.Range(1, 10).Select(n => ReconnectPolicy.Delay(Config, RelayError.SourceUnreachable, n, null, 0.5).TotalSeconds).ToList();

        Assert.Equal([0.5, 1, 2, 4, 8, 16, 30, 30, 30, 30], delays);
    }

    [Fact]
    public void A_camera_that_just_dropped_is_retried_quickly_for_the_reboot_window()
    {
        var soon = ReconnectPolicy.Delay(Config, RelayError.SourceUnreachable, 20, TimeSpan.FromSeconds(10), 0.5);
        var later = ReconnectPolicy.Delay(Config, RelayError.SourceUnreachable, 70, TimeSpan.FromSeconds(40), 0.5);

        Assert.Equal(TimeSpan.FromSeconds(0.5), soon);
        Assert.True(later > soon && later <= Config.MaxRetryDelay, $"{later}");
    }

    [Fact]
    public void Wrong_credentials_are_retried_at_the_slowest_pace()
    {
        Assert.Equal(Config.MaxRetryDelay, ReconnectPolicy.Delay(Config, RelayError.SourceUnauthorized, 1, TimeSpan.FromSeconds(1), 0.0));
    }

    [Theory]
    [InlineData(0.0, 0.8)]
    [InlineData(0.999, 1.2)]
    public void Jitter_stays_within_twenty_percent(double random, double factor)
    {
        var delay = ReconnectPolicy.Delay(Config, RelayError.SourceTimedOut, 3, null, random);

        Assert.Equal(2 * factor, delay.TotalSeconds, 2);
    }
}
