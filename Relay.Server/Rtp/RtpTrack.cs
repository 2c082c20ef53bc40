using System.Diagnostics;
using Relay.Media;

namespace Relay.Server.Rtp;

/// <summary>
/// The sender state of one track of one stream: payload type, SSRC, sequence numbers, the RTP timestamp
/// origin and the counts RTCP sender reports need. SSRC, first sequence number and timestamp origin are
/// random (RFC 3550 §5.1). Changed only by the packetizing thread (under the RTSP media lock).
/// </summary>
internal sealed class RtpTrack
{
    private long _packets;
    private long _octets;
    private long _lastSentWallTimestamp;
    private uint _lastTimestamp;

    public RtpTrack(TrackInfo info, byte payloadType)
    {
        Info = info;
        PayloadType = payloadType;
        // Random as RFC 3550 asks; not a secret, so no cryptographic source (which would load OpenSSL).
        Ssrc = (uint)Random.Shared.NextInt64(1, uint.MaxValue);
        NextSequence = (ushort)Random.Shared.Next(0, ushort.MaxValue);
        TimestampOrigin = (uint)Random.Shared.NextInt64(0, uint.MaxValue);
    }

    /// <summary>Gets the track's description (updated as parameters change).</summary>
    public TrackInfo Info { get; set; }

    public int Index => Info.Index;

    public int ClockRate => Info.ClockRate;

    public byte PayloadType { get; }

    public uint Ssrc { get; }

    public uint TimestampOrigin { get; }

    /// <summary>Gets or sets the sequence number of the next packet.</summary>
    public ushort NextSequence { get; set; }

    /// <summary>Gets the packets sent so far.</summary>
    public long PacketsSent => Interlocked.Read(ref _packets);

    /// <summary>Gets the payload octets sent so far.</summary>
    public long OctetsSent => Interlocked.Read(ref _octets);

    /// <summary>Gets a value indicating whether any packet was built yet.</summary>
    public bool HasSent => Interlocked.Read(ref _lastSentWallTimestamp) != 0;

    /// <summary>Converts a stream-timeline time to this track's RTP timestamp.</summary>
    public uint ToRtpTimestamp(TimeSpan time) =>
        unchecked(TimestampOrigin + (uint)(long)((Int128)time.Ticks * ClockRate / TimeSpan.TicksPerSecond));

    /// <summary>Estimates the RTP timestamp of "now", from the last packet built and the time since.</summary>
    public uint CurrentTimestamp()
    {
        var last = Interlocked.Read(ref _lastSentWallTimestamp);
        if (last == 0)
        {
            return TimestampOrigin;
        }

        var elapsed = Stopwatch.GetElapsedTime(last);
        return unchecked(Volatile.Read(ref _lastTimestamp) + (uint)(long)(elapsed.TotalSeconds * ClockRate));
    }

    internal void OnSent(int payloadOctets, uint timestamp)
    {
        Interlocked.Increment(ref _packets);
        Interlocked.Add(ref _octets, payloadOctets);
        Volatile.Write(ref _lastTimestamp, timestamp);
        Interlocked.Exchange(ref _lastSentWallTimestamp, Stopwatch.GetTimestamp());
    }
}
