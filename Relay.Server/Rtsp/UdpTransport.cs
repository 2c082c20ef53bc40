using System.Net;
using System.Net.Sockets;
using Relay.Server.Rtp;

namespace Relay.Server.Rtsp;

/// <summary>
/// The server's two UDP sockets (RFC 2326 §12.39 server_port): RTP is sent from one, RTCP sent from and
/// received on the other, for every UDP reader. Sends are synchronous, allocation-free (Socket.SendTo with a cached
/// SocketAddress) and never wait: both sockets are non-blocking, so a send that finds the buffer full fails at once
/// (the packet is lost and counted) instead of holding the delivering thread under the stream's lock.
/// </summary>
internal sealed class UdpTransport : IDisposable
{
    private long _sendErrors;

    public UdpTransport(IPAddress address, int rtpPort, int rtcpPort)
    {
        RtpSocket = Bind(address, rtpPort);
        RtpSocket.ReceiveBufferSize = 16 * 1024;
        try
        {
            RtcpSocket = Bind(address, rtcpPort);
        }
        catch
        {
            RtpSocket.Dispose();
            throw;
        }
    }

    public Socket RtpSocket { get; }

    public Socket RtcpSocket { get; }

    public int RtpPort => ((IPEndPoint)RtpSocket.LocalEndPoint!).Port;

    public int RtcpPort => ((IPEndPoint)RtcpSocket.LocalEndPoint!).Port;

    /// <summary>Gets the number of packets the OS refused to send.</summary>
    public long SendErrors => Interlocked.Read(ref _sendErrors);

    /// <summary>Sends each packet of <paramref name="frame"/> to <paramref name="destination"/> (the unbatched path: RTCP, first frames).</summary>
    /// <returns>Packets and bytes sent.</returns>
    public (int Packets, long Bytes) Send(RtpFrame frame, NativeSocketAddress destination, bool control)
    {
        var socket = control ? RtcpSocket : RtpSocket;
        var packets = 0;
        long bytes = 0;
        foreach (var packet in frame.Packets)
        {
            try
            {
                socket.SendTo(packet, SocketFlags.None, destination.Managed);
                packets++;
                bytes += packet.Length;
            }
            catch (SocketException)
            {
                // A full send buffer or an unreachable reader: the packet is lost, as UDP allows.
                Interlocked.Increment(ref _sendErrors);
            }
        }

        return (packets, bytes);
    }

    public void Dispose()
    {
        RtpSocket.Dispose();
        RtcpSocket.Dispose();
    }

    private static Socket Bind(IPAddress address, int port)
    {
        var socket = new Socket(address.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        try
        {
            socket.SendBufferSize = 4 * 1024 * 1024;
            socket.Blocking = false; // synchronous sends return EAGAIN instead of waiting; async receives are unaffected
            socket.Bind(new IPEndPoint(address, port));
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }
}
