using System.Net;
using System.Net.Sockets;

namespace Relay.Tests.Fixtures;

/// <summary>
/// A TCP proxy in front of the fake camera that can freeze its current connections (keep them open, forward
/// nothing), the way a camera hangs half-open. New connections after a freeze flow normally.
/// </summary>
public sealed class FreezableProxy : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly int _target;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<(TcpClient Client, TcpClient Upstream, CancellationTokenSource Frozen)> _connections = [];
    private readonly Task _accept;

    public FreezableProxy(int targetPort)
    {
        _target = targetPort;
        _listener.Start();
        _accept = AcceptAsync();
    }

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    public int Connections
    {
        get
        {
            lock (_connections)
            {
                return _connections.Count;
            }
        }
    }

    /// <summary>Stops forwarding on every current connection, leaving them open.</summary>
    public void FreezeAll()
    {
        lock (_connections)
        {
            foreach (var connection in _connections)
            {
                connection.Frozen.Cancel();
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        lock (_connections)
        {
            foreach (var (client, upstream, frozen) in _connections)
            {
                client.Dispose();
                upstream.Dispose();
                frozen.Dispose();
            }
        }

        try
        {
            await _accept;
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
        {
        }

        _stop.Dispose();
    }

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            var client = await _listener.AcceptTcpClientAsync(_stop.Token);
            var upstream = new TcpClient();
            await upstream.ConnectAsync(IPAddress.Loopback, _target, _stop.Token);
            var frozen = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
            lock (_connections)
            {
                _connections.Add((client, upstream, frozen));
            }

            _ = PipeAsync(client.GetStream(), upstream.GetStream(), frozen.Token);
            _ = PipeAsync(upstream.GetStream(), client.GetStream(), frozen.Token);
        }
    }

    private static async Task PipeAsync(NetworkStream from, NetworkStream to, CancellationToken frozen)
    {
        var buffer = new byte[16384];
        try
        {
            while (true)
            {
                var read = await from.ReadAsync(buffer, frozen);
                if (read == 0)
                {
                    to.Socket.Shutdown(SocketShutdown.Send);
                    return;
                }

                await to.WriteAsync(buffer.AsMemory(0, read), frozen);
            }
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or SocketException or ObjectDisposedException)
        {
            // Frozen or closed: stop forwarding but leave the sockets as they are.
        }
    }
}
