using System.Buffers.Binary;
using System.Text;

namespace Relay.Server.Rtp;

/// <summary>RTCP (RFC 3550 §6): Relay writes sender reports and reads receiver reports.</summary>
internal static class Rtcp
{
    public const byte SenderReport = 200;
    public const byte ReceiverReport = 201;
    public const byte SourceDescription = 202;
    public const byte Goodbye = 203;

    private static readonly DateTime NtpEpoch = new(1900, 1, 1, 0, 0, 0, DateTimeKind.Utc);

    /// <summary>Converts a UTC time to the 64-bit NTP format (seconds since 1900, 32.32 fixed point).</summary>
    public static ulong ToNtp(DateTime utc)
    {
        var ticks = (utc - NtpEpoch).Ticks;
        var seconds = (ulong)(ticks / TimeSpan.TicksPerSecond);
        var fraction = (ulong)((ticks % TimeSpan.TicksPerSecond) * 0x1_0000_0000L / TimeSpan.TicksPerSecond);
        return (seconds << 32) | fraction;
    }

    /// <summary>Writes a compound packet: a sender report (no report blocks) and an SDES with a CNAME.</summary>
    /// <returns>The number of bytes written.</returns>
    public static int WriteSenderReport(Span<byte> destination, uint ssrc, ulong ntp, uint rtpTimestamp, uint packets, uint octets, string cname)
    {
        // SR: header (4) + SSRC (4) + sender info (20) = 28 bytes, length field = 6 words.
        destination[0] = 0x80;
        destination[1] = SenderReport;
        BinaryPrimitives.WriteUInt16BigEndian(destination[2..], 6);
        BinaryPrimitives.WriteUInt32BigEndian(destination[4..], ssrc);
        BinaryPrimitives.WriteUInt64BigEndian(destination[8..], ntp);
        BinaryPrimitives.WriteUInt32BigEndian(destination[16..], rtpTimestamp);
        BinaryPrimitives.WriteUInt32BigEndian(destination[20..], packets);
        BinaryPrimitives.WriteUInt32BigEndian(destination[24..], octets);

        // SDES with one chunk: SSRC, CNAME item, END, padded to a 32-bit boundary.
        var sdes = destination[28..];
        var name = Encoding.ASCII.GetBytes(cname.Length > 255 ? cname[..255] : cname);
        var chunkLength = 4 + 2 + name.Length + 1;
        var padded = (chunkLength + 3) & ~3;
        sdes[0] = 0x81;
        sdes[1] = SourceDescription;
        BinaryPrimitives.WriteUInt16BigEndian(sdes[2..], (ushort)(padded / 4));
        BinaryPrimitives.WriteUInt32BigEndian(sdes[4..], ssrc);
        sdes[8] = 1; // CNAME
        sdes[9] = (byte)name.Length;
        name.CopyTo(sdes[10..]);
        sdes.Slice(10 + name.Length, padded - (chunkLength - 1)).Clear();
        return 28 + 4 + padded;
    }

    /// <summary>Reads the report blocks of every SR and RR in a compound RTCP packet.</summary>
    /// <returns>False when the packet is not valid RTCP.</returns>
    public static bool TryReadReports(ReadOnlySpan<byte> packet, List<ReportBlock> reports)
    {
        var valid = false;
        while (packet.Length >= 4)
        {
            if ((packet[0] >> 6) != 2)
            {
                return valid;
            }

            var count = packet[0] & 0x1F;
            var type = packet[1];
            var length = (BinaryPrimitives.ReadUInt16BigEndian(packet[2..]) + 1) * 4;
            if (length > packet.Length)
            {
                return valid;
            }

            var body = packet[4..length];
            var blocks = type switch
            {
                SenderReport when body.Length >= 24 => body[24..],
                ReceiverReport when body.Length >= 4 => body[4..],
                _ => default,
            };
            for (var i = 0; i < count && blocks.Length >= 24; i++, blocks = blocks[24..])
            {
                var lost = (int)(BinaryPrimitives.ReadUInt32BigEndian(blocks[4..]) & 0xFFFFFF);
                if ((lost & 0x800000) != 0)
                {
                    lost -= 0x1000000; // 24-bit signed
                }

                reports.Add(new ReportBlock(
                    BinaryPrimitives.ReadUInt32BigEndian(blocks),
                    blocks[4] / 256.0,
                    lost,
                    BinaryPrimitives.ReadUInt32BigEndian(blocks[8..]),
                    BinaryPrimitives.ReadUInt32BigEndian(blocks[12..])));
            }

            valid = true;
            packet = packet[length..];
        }

        return valid;
    }
}

/// <summary>One RTCP report block: how a reader is receiving one of our SSRCs.</summary>
/// <param name="Ssrc">The SSRC reported on (ours).</param>
/// <param name="FractionLost">Fraction of packets lost since the previous report (0..1).</param>
/// <param name="CumulativeLost">Packets lost since the start.</param>
/// <param name="HighestSequence">Extended highest sequence number received.</param>
/// <param name="Jitter">Interarrival jitter, in RTP timestamp units.</param>
internal readonly record struct ReportBlock(uint Ssrc, double FractionLost, int CumulativeLost, uint HighestSequence, uint Jitter);
