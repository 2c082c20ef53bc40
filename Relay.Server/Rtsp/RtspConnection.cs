using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Connections.Features;

namespace Relay.Server.Rtsp;

/// <summary>
/// One RTSP client connection: its input pipe, the lock that orders writes, and the sessions it created.
/// Writes (responses and interleaved media) go straight to the socket when Kestrel exposes it: a shared RTP
/// frame is sent from its pooled buffer without being copied into a pipe per reader, so a hundred readers
/// of one keyframe cost one buffer, not a hundred. On RTSPS the socket carries TLS records, so everything goes
/// through the connection's pipe (and Kestrel's TLS stream) instead.
/// </summary>
internal sealed class RtspConnection(ConnectionContext context)
{
    private readonly List<RtspSession> _sessions = []; // guarded by itself
    /// <summary>
    /// The kernel send buffer per reader. Our own queue is the buffer that counts (it drops to the next keyframe and
    /// detects a stuck reader); a large kernel buffer would only hide a stuck reader for megabytes. 512 KiB still
    /// carries 40 Mbit/s at 100 ms round-trip time.
    /// </summary>
    private const int SocketSendBuffer = 512 * 1024;

    private readonly Socket? _socket = context.Features.Get<ITlsHandshakeFeature>() is not null ? null : Configure(context.Features.Get<IConnectionSocketFeature>()?.Socket);

    /// <summary>Gets a value indicating whether the connection is RTSPS (TLS).</summary>
    public bool IsSecure { get; } = context.Features.Get<ITlsHandshakeFeature>() is not null;

    public string Id => context.ConnectionId;

    public PipeReader Input => context.Transport.Input;

    /// <summary>Gets the lock every write (responses and interleaved media) takes, so they never interleave.</summary>
    public SemaphoreSlim WriteLock { get; } = new(1, 1);

    public IPAddress RemoteAddress => (context.RemoteEndPoint as IPEndPoint)?.Address ?? IPAddress.Loopback;

    public IPEndPoint? LocalEndPoint => context.LocalEndPoint as IPEndPoint;

    /// <summary>Gets a token cancelled when the connection closes.</summary>
    public CancellationToken Closed => context.ConnectionClosed;

    /// <summary>Gets a token cancelled when the server asks the connection to end (graceful shutdown).</summary>
    public CancellationToken CloseRequested { get; } =
        context.Features.Get<IConnectionLifetimeNotificationFeature>()?.ConnectionClosedRequested ?? CancellationToken.None;

    public IReadOnlyList<RtspSession> Sessions
    {
        get
        {
            lock (_sessions)
            {
                return _sessions.ToArray();
            }
        }
    }

    public void Add(RtspSession session)
    {
        lock (_sessions)
        {
            _sessions.Add(session);
        }
    }

    public void Remove(RtspSession session)
    {
        lock (_sessions)
        {
            _sessions.Remove(session);
        }
    }

    /// <summary>Sends bytes; the caller holds <see cref="WriteLock"/>.</summary>
    public async ValueTask SendAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        if (_socket is null)
        {
            var result = await context.Transport.Output.WriteAsync(data, cancellationToken);
            if (result.IsCompleted)
            {
                throw new ConnectionAbortedException("the connection is closed");
            }

            return;
        }

        while (!data.IsEmpty)
        {
            var sent = await _socket.SendAsync(data, SocketFlags.None, cancellationToken);
            data = data[sent..];
        }
    }

    /// <summary>Gets a value indicating whether <see cref="TrySendNow"/> can be used (a plain socket).</summary>
    public bool CanSendNow => _socket is not null;

    /// <summary>
    /// Sends what the kernel takes right now, without waiting; the caller holds <see cref="WriteLock"/>.
    /// </summary>
    /// <returns>The bytes sent (possibly fewer than asked, possibly 0), or -1 when the connection is broken.</returns>
    public int TrySendNow(ReadOnlySpan<byte> data)
    {
        try
        {
            var sent = _socket!.Send(data, SocketFlags.None, out var error);
            return error switch
            {
                SocketError.Success => sent,
                SocketError.WouldBlock => 0,
                _ => -1,
            };
        }
        catch (ObjectDisposedException)
        {
            return -1;
        }
    }

    /// <summary>Stops writing, so the client reads what was sent and then sees the connection end.</summary>
    public async ValueTask CloseOutputAsync()
    {
        if (_socket is not null)
        {
            try
            {
                _socket.Shutdown(SocketShutdown.Send);
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
                // Already gone.
            }
        }
        else
        {
            await context.Transport.Output.CompleteAsync();
        }
    }

    private static Socket? Configure(Socket? socket)
    {
        if (socket is not null)
        {
            try
            {
                socket.SendBufferSize = SocketSendBuffer;
                socket.NoDelay = true;

                // Synchronous sends (the fast path in RtspSession.Offer) must never wait: with Blocking off they
                // return what the kernel took. Async operations (Kestrel's reads, our SendAsync) are unaffected.
                socket.Blocking = false;
            }
            catch (SocketException)
            {
                // Not fatal: the defaults work, they just buffer more.
            }
        }

        return socket;
    }

    /// <summary>Closes the connection at once (a reader that cannot keep up, a protocol violation).</summary>
    public void Abort(string reason) => context.Abort(new ConnectionAbortedException(reason));
}
