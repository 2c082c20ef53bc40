namespace Relay.Configuration;

/// <summary>How RTP is pulled from an RTSP camera.</summary>
public enum SourceTransport
{
    /// <summary>RTP interleaved in the RTSP TCP connection (works through NAT and firewalls).</summary>
    Tcp,

    /// <summary>RTP over UDP unicast.</summary>
    Udp,
}
