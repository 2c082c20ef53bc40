using System.Net;
using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Relay.Server.Metrics;
using Relay.Tests.Fixtures;
using Xunit.Abstractions;

namespace Relay.Tests.Rtsp;

/// <summary>
/// One hostile client against the limits (Relay:Rtsp:Max…): thousands of SETUPs, thousands of connections, slow-loris
/// connections, a client that reads nothing. Each is refused or cut off and counted, the relay keeps answering, and a
/// reader that was playing (from another address) keeps every frame.
/// </summary>
public sealed class AbuseTests(ITestOutputHelper output) : InteropTestBase(output)
{
    private static readonly IPAddress Attacker = IPAddress.Parse("127.0.0.3");

    [Fact]
    public async Task Ten_thousand_setups_on_one_connection_hold_sixteen_sessions_while_a_reader_keeps_every_frame()
    {
        await using var relay = await StartAsync();
        var reader = await StartReaderAsync(relay, seconds: 5);
        await using var client = await RawRtspClient.ConnectAsync(relay.RtspPort, from: Attacker);
        var track = relay.RtspUrl("demo") + "/trackID=0";
        var statuses = new Dictionary<int, int>();
        const int Batch = 200;
        for (var sent = 0; sent < 10_000; sent += Batch)
        {
            // Pipelined, as a flood would be: a batch of requests in one write, then their answers.
            var requests = new StringBuilder();
            for (var i = 0; i < Batch; i++)
            {
                requests.Append($"SETUP {track} RTSP/1.0\r\nCSeq: {sent + i + 1}\r\nTransport: RTP/AVP/TCP;unicast;interleaved=0-1\r\n\r\n");
            }

            await client.SendAsync(requests.ToString());
            for (var i = 0; i < Batch; i++)
            {
                var status = (await client.ReadResponseAsync()).Status;
                statuses[status] = statuses.GetValueOrDefault(status) + 1;
            }
        }

        var sessions = relay.Rtsp.Sessions.Count(s => s.Connection.RemoteAddress.Equals(Attacker));
        await using var other = await RawRtspClient.ConnectAsync(relay.RtspPort);
        var stillServed = await other.RequestAsync("DESCRIBE", relay.RtspUrl("demo").ToString(), 1);
        var read = await reader;

        Assert.Equal(new Dictionary<int, int> { [200] = 16, [503] = 9_984 }, statuses);
        Assert.Equal(16, sessions);
        Assert.Equal(200, stillServed.Status);
        AssertEveryFrame(read, seconds: 5);
        Assert.Equal(9_984, Metrics(relay).RtspRefusedSessions.WithLabels("per_connection").Value);
        Assert.True(Logs.Lines.Count(l => l.Contains("SETUP(s) refused", StringComparison.Ordinal)) <= 3, "refusals are logged at most every 10 s");
    }

    [Fact]
    public async Task Sessions_beyond_the_per_address_limit_are_refused_across_connections()
    {
        await using var relay = await StartAsync(("Relay:Rtsp:MaxSessionsPerAddress", "5"));
        var track = relay.RtspUrl("demo") + "/trackID=0";
        var clients = new List<RawRtspClient>();
        var statuses = new List<int>();
        try
        {
            for (var i = 0; i < 4; i++)
            {
                var client = await RawRtspClient.ConnectAsync(relay.RtspPort, from: Attacker);
                clients.Add(client);
                statuses.Add((await client.RequestAsync("SETUP", track, 1, "Transport: RTP/AVP/TCP;unicast;interleaved=0-1")).Status);
                statuses.Add((await client.RequestAsync("SETUP", track, 2, "Transport: RTP/AVP/TCP;unicast;interleaved=0-1")).Status);
            }

            await using var otherAddress = await RawRtspClient.ConnectAsync(relay.RtspPort);
            var elsewhere = await otherAddress.RequestAsync("SETUP", track, 1, "Transport: RTP/AVP/TCP;unicast;interleaved=0-1");

            Assert.Equal([200, 200, 200, 200, 200, 503, 503, 503], statuses);
            Assert.Equal(200, elsewhere.Status);
            Assert.Equal(3, Metrics(relay).RtspRefusedSessions.WithLabels("per_address").Value);
        }
        finally
        {
            foreach (var client in clients)
            {
                await client.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task Two_thousand_connections_from_one_address_get_256_while_a_reader_keeps_every_frame()
    {
        await using var relay = await StartAsync();
        var reader = await StartReaderAsync(relay, seconds: 8);
        var held = new List<Socket>();
        var served = 0;
        var refused = 0;
        var request = Encoding.ASCII.GetBytes($"OPTIONS {relay.RtspUrl("demo")} RTSP/1.0\r\nCSeq: 1\r\n\r\n");
        try
        {
            for (var i = 0; i < 2_000; i++)
            {
                var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                socket.Bind(new IPEndPoint(Attacker, 0));
                await socket.ConnectAsync(IPAddress.Loopback, relay.RtspPort);
                await socket.SendAsync(request);
                var status = await ReadStatusAsync(socket);
                if (status == 200)
                {
                    served++;
                    held.Add(socket);
                }
                else
                {
                    Assert.Equal(503, status);
                    refused++;
                    socket.Dispose();
                }
            }

            await using var other = await RawRtspClient.ConnectAsync(relay.RtspPort);
            var stillServed = await other.RequestAsync("DESCRIBE", relay.RtspUrl("demo").ToString(), 1);
            var read = await reader;

            Assert.Equal(256, served);
            Assert.Equal(1_744, refused);
            Assert.Equal(200, stillServed.Status);
            AssertEveryFrame(read, seconds: 8);
            Assert.Equal(1_744, Metrics(relay).RtspRefusedConnections.WithLabels("per_address").Value);
        }
        finally
        {
            foreach (var socket in held)
            {
                socket.Dispose();
            }
        }
    }

    [Fact]
    public async Task A_hundred_slow_loris_connections_are_cut_off_while_a_reader_keeps_every_frame()
    {
        await using var relay = await StartAsync(("Relay:Rtsp:RequestTimeout", "2s"));
        var reader = await StartReaderAsync(relay, seconds: 5);
        var lorises = new List<RawRtspClient>();
        try
        {
            for (var i = 0; i < 100; i++)
            {
                var loris = await RawRtspClient.ConnectAsync(relay.RtspPort, from: Attacker);
                lorises.Add(loris);

                // A request that never ends: headers keep coming, slower than the timeout allows in all.
                await loris.SendAsync($"DESCRIBE {relay.RtspUrl("demo")} RTSP/1.0\r\nCSeq: 1\r\nX-Slow: ");
            }

            await using var other = await RawRtspClient.ConnectAsync(relay.RtspPort);
            var stillServed = await other.RequestAsync("DESCRIBE", relay.RtspUrl("demo").ToString(), 1);
            var cut = 0;
            foreach (var loris in lorises)
            {
                var response = await loris.TryReadResponseAsync(TimeSpan.FromSeconds(30));
                cut += response?.Status == 400 && await loris.IsClosedByServerAsync(TimeSpan.FromSeconds(10)) ? 1 : 0;
            }

            var read = await reader;

            Assert.Equal(200, stillServed.Status);
            Assert.Equal(100, cut);
            AssertEveryFrame(read, seconds: 5);
            Assert.Equal(100, Metrics(relay).RtspTimeouts.WithLabels("request").Value);
        }
        finally
        {
            foreach (var loris in lorises)
            {
                await loris.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task A_connection_that_owned_a_session_it_never_played_is_closed_once_the_session_expires()
    {
        await using var relay = await StartAsync(("Relay:Rtsp:SessionTimeout", "2s"));
        await using var client = await RawRtspClient.ConnectAsync(relay.RtspPort, from: Attacker);

        var setup = await client.RequestAsync("SETUP", relay.RtspUrl("demo") + "/trackID=0", 1, "Transport: RTP/AVP/TCP;unicast;interleaved=0-1");
        var closed = await client.IsClosedByServerAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(200, setup.Status);
        Assert.True(closed, "the connection stayed open after its session expired");
        Assert.Empty(relay.Rtsp.Sessions);
        Assert.Equal(1, Metrics(relay).RtspTimeouts.WithLabels("idle").Value);
    }

    [Fact]
    public async Task A_client_that_sends_requests_but_reads_nothing_is_cut_off()
    {
        await using var relay = await StartAsync(("Relay:Rtsp:RequestTimeout", "2s"));
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { ReceiveBufferSize = 4096 };
        socket.Bind(new IPEndPoint(Attacker, 0));
        await socket.ConnectAsync(IPAddress.Loopback, relay.RtspPort);
        var describe = Encoding.ASCII.GetBytes($"DESCRIBE {relay.RtspUrl("demo")} RTSP/1.0\r\nCSeq: 1\r\n\r\n");
        var cutOff = false;
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        try
        {
            // Each answer is an SDP of some hundred bytes; with nothing read, the relay's socket buffer fills.
            while (!deadline.IsCancellationRequested)
            {
                await socket.SendAsync(describe, deadline.Token);
            }
        }
        catch (SocketException)
        {
            cutOff = true;
        }
        catch (OperationCanceledException)
        {
        }

        Assert.True(cutOff, "the relay kept a client that reads nothing");
        await Eventually.WaitAsync(
            () => Metrics(relay).RtspTimeouts.WithLabels("response").Value == 1 && relay.Rtsp.ConnectionCount == 0,
            TimeSpan.FromSeconds(10),
            "the timeout to be counted and the connection forgotten");
    }

    private static RelayMetrics Metrics(RelayHost relay) => relay.App.Services.GetRequiredService<RelayMetrics>();

    private static async Task<int> ReadStatusAsync(Socket socket)
    {
        var buffer = new byte[1024];
        var received = 0;
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        while (received < buffer.Length)
        {
            var n = await socket.ReceiveAsync(buffer.AsMemory(received), timeout.Token);
            if (n == 0)
            {
                break;
            }

            received += n;
            var text = Encoding.ASCII.GetString(buffer, 0, received);
            if (text.Contains("\r\n\r\n", StringComparison.Ordinal))
            {
                return int.Parse(text.Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture);
            }
        }

        return 0;
    }

    private static void AssertEveryFrame(Clients.FfmpegRead read, int seconds)
    {
        Assert.True(read.ExitCode == 0, read.Result.Stderr);
        Assert.Empty(read.Problems);
        Assert.InRange(read.Frames, (25 * seconds) - 5, (25 * seconds) + 15);
    }

    private async Task<Task<Clients.FfmpegRead>> StartReaderAsync(RelayHost relay, int seconds)
    {
        var reader = Clients.ReadWithFfmpegAsync(relay.RtspUrl("demo"), "tcp", seconds);
        await Eventually.WaitAsync(() => relay.Rtsp.Sessions.Any(s => s.IsPlaying), TimeSpan.FromSeconds(20), "the reader to play");
        return reader;
    }

    private async Task<RelayHost> StartAsync(params (string Key, string Value)[] settings)
    {
        var values = new Dictionary<string, string?>
        {
            ["Relay:Streams:demo:Source"] = "test:size=320x240&fps=25&gop=25&bitrate=300",

            // Thousands of refused requests would each write a debug line.
            ["Logging:LogLevel:Relay.Server.Rtsp.RtspConnectionHandler"] = "Information",
        };
        foreach (var (key, value) in settings)
        {
            values[key] = value;
        }

        var relay = await RelayHost.StartAsync(values, Logs);
        await Clients.ProbeAsync(relay.RtspUrl("demo"), "tcp"); // the stream is up
        return relay;
    }
}
