using System.Buffers.Binary;
using Relay.Server.Rtp;

namespace Relay.Tests.Rtp;

public sealed class RtcpTests
{
    [Fact]
    public void A_sender_report_carries_the_ntp_rtp_mapping_and_counts()
    {
        var buffer = new byte[128];
        var ntp = Rtcp.ToNtp(new DateTime(2026, 11, 27, 12, 0, 0, 500, DateTimeKind.Utc));

        var length = Rtcp.WriteSenderReport(buffer, 0x11223344, ntp, 123456, 1000, 200000, "relay@host");

        Assert.Equal(0, length % 4);
        Assert.Equal(Rtcp.SenderReport, buffer[1]);
        Assert.Equal(0x11223344u, BinaryPrimitives.ReadUInt32BigEndian(buffer.AsSpan(4)));
        Assert.Equal(ntp, BinaryPrimitives.ReadUInt64BigEndian(buffer.AsSpan(8)));
        Assert.Equal(123456u, BinaryPrimitives.ReadUInt32BigEndian(buffer.AsSpan(16)));
        Assert.Equal(1000u, BinaryPrimitives.ReadUInt32BigEndian(buffer.AsSpan(20)));
        Assert.Equal(200000u, BinaryPrimitives.ReadUInt32BigEndian(buffer.AsSpan(24)));
        Assert.Equal(Rtcp.SourceDescription, buffer[29]);
        Assert.Equal(0x80000000u, (uint)(ntp & 0xFFFFFFFF)); // half a second
        var reports = new List<ReportBlock>();
        Assert.True(Rtcp.TryReadReports(buffer.AsSpan(0, length), reports)); // a well-formed compound packet
    }

    [Fact]
    public void Receiver_reports_are_read_with_signed_cumulative_loss()
    {
        byte[] rr =
        [
            0x81, 201, 0, 7, 0xAA, 0xBB, 0xCC, 0xDD, // RR, one block, reporter SSRC
            0x11, 0x22, 0x33, 0x44, // source SSRC
            64, 0xFF, 0xFF, 0xFE, // fraction 64/256, cumulative -2
            0, 0, 0x10, 0x00, // highest sequence
            0, 0, 0, 90, // jitter
            0, 0, 0, 0, 0, 0, 0, 0, // LSR, DLSR
        ];

        var reports = new List<ReportBlock>();
        Assert.True(Rtcp.TryReadReports(rr, reports));

        var block = Assert.Single(reports);
        Assert.Equal(0x11223344u, block.Ssrc);
        Assert.Equal(0.25, block.FractionLost);
        Assert.Equal(-2, block.CumulativeLost);
        Assert.Equal(90u, block.Jitter);
    }

    [Fact]
    public void Garbage_is_not_rtcp()
    {
        Assert.False(Rtcp.TryReadReports([0x00, 0x01, 0x02, 0x03, 0x04], []));
        Assert.False(Rtcp.TryReadReports([0x81, 201, 0xFF, 0xFF], []));
    }
}
