using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Relay.Tests.Fixtures;

/// <summary>One RTP packet as a reader received it.</summary>
/// <param name="Arrived">When it arrived (<see cref="Stopwatch.GetTimestamp"/>).</param>
/// <param name="Sequence">Its sequence number.</param>
/// <param name="Timestamp">Its RTP timestamp.</param>
/// <param name="NalType">The H.264 NAL unit type it carries (the fragmented or aggregated unit's own type).</param>
public sealed record RtpArrival(long Arrived, ushort Sequence, uint Timestamp, int NalType);

/// <summary>
/// A minimal RTSP reader of a stream's first (video) track over TCP or UDP that records every RTP packet with its
/// arrival time: the measuring instrument for what real clients cannot report (when a packet arrived, its sequence
/// number). Real clients (ffmpeg, gst-launch) read beside it in the same tests.
/// </summary>
public sealed class RtpRecorder : IAsyncDisposable
{
    private readonly TcpClient _tcp;
    private readonly NetworkStream _stream;
    private readonly UdpClient? _rtp;
    private readonly UdpClient? _rtcp;
    private readonly ConcurrentQueue<RtpArrival> _packets = new();
    private readonly ConcurrentQueue<long> _keyframes = new();
    private uint? _lastTimestamp;
    private string? _session;
    private Uri? _url;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<byte> _pending = [];
    private Task _pump = Task.CompletedTask;

    private RtpRecorder(TcpClient tcp, bool udp)
    {
        _tcp = tcp;
        _stream = tcp.GetStream();
        if (udp)
        {
            _rtp = new UdpClient(new IPEndPoint(IPAddress.Loopback, 0));
            _rtp.Client.ReceiveBufferSize = 4 * 1024 * 1024;
            _rtcp = new UdpClient(new IPEndPoint(IPAddress.Loopback, 0));
        }
    }

    /// <summary>Gets the packets received so far, in order.</summary>
    public IReadOnlyList<RtpArrival> Packets => _packets.ToArray();

    /// <summary>Gets when each keyframe began to arrive (its first parameter-set or IDR packet).</summary>
    public IReadOnlyList<long> Keyframes => _keyframes.ToArray();

    /// <summary>Gets a value indicating whether the server closed the connection.</summary>
    public bool Closed { get; private set; }

    /// <summary>Connects, sets up the first track and plays.</summary>
    public static async Task<RtpRecorder> PlayAsync(int port, Uri url, string transport)
    {
        var tcp = new TcpClient();
        await tcp.ConnectAsync(IPAddress.Loopback, port);
        var recorder = new RtpRecorder(tcp, transport == "udp");
        var header = recorder._rtp is null
            ? "RTP/AVP/TCP;unicast;interleaved=0-1"
            : $"RTP/AVP;unicast;client_port={((IPEndPoint)recorder._rtp.Client.LocalEndPoint!).Port}-{((IPEndPoint)recorder._rtcp!.Client.LocalEndPoint!).Port}";
        var setup = await recorder.RequestAsync($"SETUP {url}/trackID=0 RTSP/1.0\r\nCSeq: 1\r\nTransport: {header}\r\n\r\n");
        var session = setup.Split("\r\n").First(l => l.StartsWith("Session:", StringComparison.OrdinalIgnoreCase))["Session:".Length..].Split(';')[0].Trim();
        await recorder.RequestAsync($"PLAY {url} RTSP/1.0\r\nCSeq: 2\r\nSession: {session}\r\n\r\n");
        recorder._session = session;
        recorder._url = url;
        recorder._pump = recorder._rtp is null ? Task.Run(recorder.PumpTcpAsync) : Task.Run(recorder.PumpUdpAsync);
        return recorder;
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _tcp.Dispose();
        _rtp?.Dispose();
        _rtcp?.Dispose();
        try
        {
            await _pump.WaitAsync(TimeSpan.FromSeconds(10));
        }
        catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException or IOException)
        {
        }

        _stop.Dispose();
    }

    private async Task<string> RequestAsync(string request)
    {
        await _stream.WriteAsync(Encoding.ASCII.GetBytes(request));
        var buffer = new byte[4096];
        while (true)
        {
            var text = Encoding.ASCII.GetString(_pending.ToArray());
            var end = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
            if (end >= 0)
            {
                _pending.RemoveRange(0, end + 4);
                if (!text.StartsWith("RTSP/1.0 200", StringComparison.Ordinal))
                {
                    throw new InvalidOperationException($"the relay answered: {text[..end]}");
                }

                return text[..end];
            }

            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(15));
            var read = await _stream.ReadAsync(buffer, timeout.Token);
            if (read == 0)
            {
                throw new InvalidOperationException("the relay closed the connection");
            }

            _pending.AddRange(buffer.AsSpan(0, read).ToArray());
        }
    }

    private async Task PumpTcpAsync()
    {
        var buffer = new byte[256 * 1024];
        var filled = _pending.Count;
        _pending.CopyTo(buffer);
        try
        {
            while (!_stop.IsCancellationRequested)
            {
                var offset = 0;
                while (filled - offset >= 4 && buffer[offset] == (byte)'$')
                {
                    var length = (buffer[offset + 2] << 8) | buffer[offset + 3];
                    if (filled - offset < 4 + length)
                    {
                        break;
                    }

                    if (buffer[offset + 1] == 0)
                    {
                        Record(buffer.AsSpan(offset + 4, length));
                    }

                    offset += 4 + length;
                }

                if (filled - offset >= 1 && buffer[offset] != (byte)'$')
                {
                    // An RTSP message (the relay does not send any unasked): skip to the next frame.
                    var next = Array.IndexOf(buffer, (byte)'$', offset, filled - offset);
                    offset = next < 0 ? filled : next;
                }

                Buffer.BlockCopy(buffer, offset, buffer, 0, filled - offset);
                filled -= offset;
                var read = await _stream.ReadAsync(buffer.AsMemory(filled), _stop.Token);
                if (read == 0)
                {
                    Closed = true;
                    return;
                }

                filled += read;
            }
        }
        catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or IOException)
        {
            Closed = !_stop.IsCancellationRequested;
        }
    }

    private async Task PumpUdpAsync()
    {
        var keepAlive = Task.Run(async () =>
        {
            // A UDP session lives on requests or RTCP; a real client sends receiver reports, this one asks for nothing.
            using var timer = new PeriodicTimer(TimeSpan.FromSeconds(10));
            var cseq = 3;
            try
            {
                while (await timer.WaitForNextTickAsync(_stop.Token))
                {
                    await _stream.WriteAsync(Encoding.ASCII.GetBytes($"GET_PARAMETER {_url} RTSP/1.0\r\nCSeq: {cseq++}\r\nSession: {_session}\r\n\r\n"), _stop.Token);
                }
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or IOException)
            {
            }
        });
        var watch = Task.Run(async () =>
        {
            // The RTSP connection stays open while the session lives; it closing is the session ending.
            var buffer = new byte[4096];
            try
            {
                while (await _stream.ReadAsync(buffer, _stop.Token) > 0)
                {
                }

                Closed = true;
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or IOException)
            {
                Closed = !_stop.IsCancellationRequested;
            }
        });
        try
        {
            while (!_stop.IsCancellationRequested)
            {
                var received = await _rtp!.ReceiveAsync(_stop.Token);
                Record(received.Buffer);
            }
        }
        catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
        {
        }

        await watch;
        await keepAlive;
    }

    private void Record(ReadOnlySpan<byte> packet)
    {
        if (packet.Length < 13)
        {
            return;
        }

        var csrc = packet[0] & 0x0f;
        var payload = 12 + (4 * csrc);
        if ((packet[0] & 0x10) != 0 && packet.Length >= payload + 4)
        {
            payload += 4 + (4 * ((packet[payload + 2] << 8) | packet[payload + 3]));
        }

        if (payload >= packet.Length)
        {
            return;
        }

        var nal = packet[payload] & 0x1f;
        var type = nal switch
        {
            28 when payload + 1 < packet.Length => packet[payload + 1] & 0x1f, // FU-A: the fragmented unit's type
            24 when payload + 3 < packet.Length => packet[payload + 3] & 0x1f, // STAP-A: the first aggregated unit's type
            _ => nal,
        };
        var arrived = Stopwatch.GetTimestamp();
        var timestamp = (uint)((packet[4] << 24) | (packet[5] << 16) | (packet[6] << 8) | packet[7]);
        if (type is 5 or 7 or 8 && timestamp != _lastTimestamp)
        {
            _keyframes.Enqueue(arrived); // the first packet of a keyframe's access unit (a new RTP timestamp)
        }

        _lastTimestamp = timestamp;
        _packets.Enqueue(new RtpArrival(arrived, (ushort)((packet[2] << 8) | packet[3]), timestamp, type));
    }
}
