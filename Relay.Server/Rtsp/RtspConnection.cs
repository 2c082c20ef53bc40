using System.IO.Pipelines;
using System.Net;
using Microsoft.AspNetCore.Connections;

namespace Relay.Server.Rtsp;

/// <summary>One RTSP client connection: its pipes, the lock that orders writes, and the sessions it created.</summary>
internal sealed class RtspConnection(ConnectionContext context)
{
    private readonly List<RtspSession> _sessions = []; // guarded by itself

    public string Id => context.ConnectionId;

    public PipeReader Input => context.Transport.Input;

    public PipeWriter Output => context.Transport.Output;

    /// <summary>Gets the lock every write (responses and interleaved media) takes, so they never interleave.</summary>
    public SemaphoreSlim WriteLock { get; } = new(1, 1);

    public IPAddress RemoteAddress => (context.RemoteEndPoint as IPEndPoint)?.Address ?? IPAddress.Loopback;

    public IPEndPoint? LocalEndPoint => context.LocalEndPoint as IPEndPoint;

    /// <summary>Gets a token cancelled when the connection closes.</summary>
    public CancellationToken Closed => context.ConnectionClosed;

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

    /// <summary>Closes the connection at once (a reader that cannot keep up, a protocol violation).</summary>
    public void Abort(string reason) => context.Abort(new ConnectionAbortedException(reason));
}
