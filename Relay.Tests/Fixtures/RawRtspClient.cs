using System.Net.Sockets;
using System.Text;

namespace Relay.Tests.Fixtures;

/// <summary>
/// Speaks raw RTSP bytes to the relay, for protocol tests that need malformed or out-of-order requests
/// (which no real client sends). Not used where a real client can do the job.
/// </summary>
public sealed class RawRtspClient : IAsyncDisposable
{
    private readonly TcpClient _tcp;
    private readonly NetworkStream _stream;
    private readonly byte[] _buffer = new byte[64 * 1024];
    private int _buffered;

    private RawRtspClient(TcpClient tcp)
    {
        _tcp = tcp;
        _stream = tcp.GetStream();
    }

    /// <summary>Connects to the relay on 127.0.0.1, from <paramref name="from"/> (another loopback address) when given.</summary>
    public static async Task<RawRtspClient> ConnectAsync(int port, System.Net.IPAddress? from = null)
    {
        var tcp = from is null ? new TcpClient() : new TcpClient(new System.Net.IPEndPoint(from, 0));
        await tcp.ConnectAsync("127.0.0.1", port);
        return new RawRtspClient(tcp);
    }

    public async Task SendAsync(string text) => await _stream.WriteAsync(Encoding.UTF8.GetBytes(text));

    public async Task SendAsync(byte[] bytes) => await _stream.WriteAsync(bytes);

    /// <summary>Sends a request and reads the response.</summary>
    public async Task<RawResponse> RequestAsync(string method, string uri, int cseq, params string[] headers)
    {
        var sb = new StringBuilder($"{method} {uri} RTSP/1.0\r\nCSeq: {cseq}\r\n");
        foreach (var header in headers)
        {
            sb.Append(header).Append("\r\n");
        }

        await SendAsync(sb.Append("\r\n").ToString());
        return await ReadResponseAsync();
    }

    /// <summary>Reads one response (skipping interleaved media frames), or null when the server closed the connection.</summary>
    public async Task<RawResponse?> TryReadResponseAsync(TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(15));
        while (true)
        {
            while (_buffered >= 4 && _buffer[0] == (byte)'$')
            {
                var length = 4 + ((_buffer[2] << 8) | _buffer[3]);
                if (_buffered < length)
                {
                    break;
                }

                Consume(length);
            }

            var text = Encoding.UTF8.GetString(_buffer, 0, _buffered);
            var end = _buffer[0] == (byte)'$' ? -1 : text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
            if (end >= 0)
            {
                var head = text[..end];
                var lines = head.Split("\r\n");
                var status = int.Parse(lines[0].Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture);
                // A header sent more than once (WWW-Authenticate) has its values joined by new lines.
                var headers = lines.Skip(1).Select(l => l.Split(':', 2)).GroupBy(p => p[0].Trim(), StringComparer.OrdinalIgnoreCase)
                    .ToDictionary(g => g.Key, g => string.Join('\n', g.Select(p => p[1].Trim())), StringComparer.OrdinalIgnoreCase);
                var bodyLength = headers.TryGetValue("Content-Length", out var cl) ? int.Parse(cl, System.Globalization.CultureInfo.InvariantCulture) : 0;
                var headLength = Encoding.UTF8.GetByteCount(head) + 4;
                if (_buffered >= headLength + bodyLength)
                {
                    var body = Encoding.UTF8.GetString(_buffer, headLength, bodyLength);
                    Consume(headLength + bodyLength);
                    return new RawResponse(status, headers, body);
                }
            }

            var read = await _stream.ReadAsync(_buffer.AsMemory(_buffered), cts.Token);
            if (read == 0)
            {
                return null;
            }

            _buffered += read;
        }
    }

    public async Task<RawResponse> ReadResponseAsync() =>
        await TryReadResponseAsync() ?? throw new IOException("The server closed the connection without answering.");

    /// <summary>Tells whether the server closed the connection (reading sees end of stream) within the timeout.</summary>
    public async Task<bool> IsClosedByServerAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            while (true)
            {
                var read = await _stream.ReadAsync(_buffer.AsMemory(_buffered), cts.Token);
                if (read == 0)
                {
                    return true;
                }

                _buffered = 0; // discard whatever else was sent
            }
        }
        catch (OperationCanceledException)
        {
            return false;
        }
        catch (IOException)
        {
            return true;
        }
    }

    public ValueTask DisposeAsync()
    {
        _tcp.Dispose();
        return ValueTask.CompletedTask;
    }

    private void Consume(int count)
    {
        Buffer.BlockCopy(_buffer, count, _buffer, 0, _buffered - count);
        _buffered -= count;
    }
}

public sealed record RawResponse(int Status, IReadOnlyDictionary<string, string> Headers, string Body);
