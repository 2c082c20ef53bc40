using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;

namespace Relay.Server.Rtsp;

/// <summary>A destination as the kernel's struct sockaddr_in / sockaddr_in6, built once per reader track.</summary>
internal sealed class NativeSocketAddress
{
    public NativeSocketAddress(IPEndPoint endPoint)
    {
        EndPoint = endPoint;
        Managed = endPoint.Serialize();
        if (endPoint.AddressFamily == AddressFamily.InterNetwork)
        {
            Bytes = new byte[16];
            BinaryPrimitives.WriteUInt16LittleEndian(Bytes, 2); // AF_INET
            BinaryPrimitives.WriteUInt16BigEndian(Bytes.AsSpan(2), (ushort)endPoint.Port);
            endPoint.Address.TryWriteBytes(Bytes.AsSpan(4), out _);
        }
        else
        {
            Bytes = new byte[28];
            BinaryPrimitives.WriteUInt16LittleEndian(Bytes, 10); // AF_INET6
            BinaryPrimitives.WriteUInt16BigEndian(Bytes.AsSpan(2), (ushort)endPoint.Port);
            endPoint.Address.TryWriteBytes(Bytes.AsSpan(8), out _);
            BinaryPrimitives.WriteUInt32LittleEndian(Bytes.AsSpan(24), (uint)endPoint.Address.ScopeId);
        }
    }

    public IPEndPoint EndPoint { get; }

    /// <summary>Gets the .NET form, for Socket.SendTo.</summary>
    public SocketAddress Managed { get; }

    /// <summary>Gets the native sockaddr bytes.</summary>
    public byte[] Bytes { get; }
}
