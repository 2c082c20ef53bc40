using Relay.Server.GStreamer;

namespace Relay.Tests.GStreamer;

/// <summary>The timestamps the TCP ingest path gives RTP packets in place of a jitter buffer.</summary>
public sealed class RtpTimestamperTests
{
    private const ulong None = ulong.MaxValue;
    private const ulong Second = 1_000_000_000;

    [Fact]
    public void Packets_are_timed_from_the_first_packets_time_by_their_rtp_clock()
    {
        var clock = new RtpTimestamper.Clock { ClockRate = 90_000 };

        Assert.Equal(5 * Second, clock.Next(1_000, 5 * Second));
        Assert.Equal(5 * Second, clock.Next(1_000, None)); // a frame's other packets share its timestamp
        Assert.Equal((5 * Second) + 40_000_000, clock.Next(4_600, None));
        Assert.Equal((5 * Second) + 1_000_000_000, clock.Next(91_000, None));
    }

    [Fact]
    public void The_rtp_timestamp_wraps_past_32_bits_without_a_jump()
    {
        var clock = new RtpTimestamper.Clock { ClockRate = 90_000 };
        clock.Next(uint.MaxValue - 1_799, Second);

        Assert.Equal(Second + 40_000_000, clock.Next(1_800, None));
    }

    [Fact]
    public void A_step_back_in_rtp_time_is_an_earlier_timestamp_and_never_below_zero()
    {
        var clock = new RtpTimestamper.Clock { ClockRate = 90_000 };
        clock.Next(90_000, 10_000_000);

        Assert.Equal(10_000_000 + 80_000_000UL, clock.Next(97_200, None));
        Assert.Equal(10_000_000 + 40_000_000UL, clock.Next(93_600, None)); // a B-frame, sent after the frame it precedes
        Assert.Equal(0UL, clock.Next(88_200, None)); // 20 ms before a first packet at 10 ms
    }

    [Fact]
    public void A_jump_of_more_than_ten_seconds_continues_from_the_last_timestamp()
    {
        var clock = new RtpTimestamper.Clock { ClockRate = 8_000 };
        clock.Next(0, Second);
        Assert.Equal(Second + 20_000_000, clock.Next(160, None));

        Assert.Equal(Second + 20_000_000, clock.Next(3_000_000, None)); // the encoder restarted its clock
        Assert.Equal(Second + 40_000_000, clock.Next(3_000_160, None));
    }

    [Fact]
    public void A_stamped_packet_anchors_the_timeline_again()
    {
        var clock = new RtpTimestamper.Clock { ClockRate = 48_000 };
        clock.Next(0, Second);

        Assert.Equal(7 * Second, clock.Next(960, 7 * Second));
        Assert.Equal((7 * Second) + 20_000_000, clock.Next(1_920, None));
    }

    [Fact]
    public void Days_of_rtp_time_do_not_overflow()
    {
        var clock = new RtpTimestamper.Clock { ClockRate = 90_000 };
        clock.Next(0, 0);
        var step = 90_000u * 5; // five seconds a step, under the jump limit
        ulong expected = 0;
        for (var i = 1; i <= 7 * 24 * 720; i++) // a week
        {
            expected += 5 * Second;
            Assert.Equal(expected, clock.Next((uint)(i * step), None));
        }
    }
}
