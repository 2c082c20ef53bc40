namespace Relay.Configuration;

/// <summary>The RTSP server (<c>Relay:Rtsp</c>).</summary>
public sealed record RtspServerConfig
{
    /// <summary>Gets the address to listen on. <value>The default value is <c>0.0.0.0</c> (every IPv4 interface).</value></summary>
    public string Address { get; init; } = "0.0.0.0";

    /// <summary>Gets the RTSP TCP port; 0 picks a free one. <value>The default value is 8554.</value></summary>
    public int Port { get; init; } = 8554;

    /// <summary>
    /// Gets the RTSPS (RTSP over TLS) TCP port, served when <c>Relay:Tls:Certificate</c> is set; 0 picks a free one.
    /// <value>The default value is 8322.</value>
    /// </summary>
    public int TlsPort { get; init; } = 8322;

    /// <summary>Gets the UDP port RTP is sent from to UDP readers; 0 picks a free one. <value>The default value is 8000.</value></summary>
    public int RtpPort { get; init; } = 8000;

    /// <summary>Gets the UDP port RTCP is sent from and received on; 0 picks a free one. <value>The default value is 8001.</value></summary>
    public int RtcpPort { get; init; } = 8001;

    /// <summary>Gets how long a session lives without a request or RTCP from its reader. <value>The default value is 60 s.</value></summary>
    public TimeSpan SessionTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>Gets how long DESCRIBE waits for a stream that has never had media. <value>The default value is 5 s.</value></summary>
    public TimeSpan DescribeTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Gets the largest RTP packet Relay sends, header included. <value>The default value is 1400 bytes.</value></summary>
    public int Mtu { get; init; } = 1400;

    /// <summary>Gets the largest RTSP request (request line, headers and body). <value>The default value is 16 KiB.</value></summary>
    public int MaxRequestBytes { get; init; } = 16 * 1024;

    /// <summary>Gets how long a partly received request may take to complete. <value>The default value is 10 s.</value></summary>
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Gets the most RTSP connections served at once. <value>The default value is 1000.</value></summary>
    public int MaxConnections { get; init; } = 1000;

    /// <summary>
    /// Gets the most RTSP connections one client address may have open at once (a VMS recording many cameras opens
    /// one per camera). <value>The default value is 256.</value>
    /// </summary>
    public int MaxConnectionsPerAddress { get; init; } = 256;

    /// <summary>
    /// Gets the most RTSP sessions one connection may hold at once (each holds a lease on its stream, so an on-demand
    /// camera is pulled for it). <value>The default value is 16.</value>
    /// </summary>
    public int MaxSessionsPerConnection { get; init; } = 16;

    /// <summary>
    /// Gets the most RTSP sessions the connections of one client address may hold at once (a VMS recording many cameras
    /// holds one per camera). <value>The default value is 256.</value>
    /// </summary>
    public int MaxSessionsPerAddress { get; init; } = 256;
}
