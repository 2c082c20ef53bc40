using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.DependencyInjection;
using Relay.Tests.Fixtures;
using Xunit.Abstractions;

namespace Relay.Tests.Rtsp;

/// <summary>
/// Hostile traffic against a running relay (<see cref="HostileRtsp"/>: mutated and truncated requests, random bytes,
/// interleaved frames with lying lengths, header floods, fuzzed Transport/Session/Authorization headers, slow-loris)
/// from many connections at once, while a reader plays: no error is logged, nothing crashes, the reader is unbroken,
/// and the relay answers a normal request afterwards.
/// </summary>
/// <remarks>
/// <c>RELAY_FUZZ_REQUESTS</c> sets the number of hostile messages (3 000 in the test command; <c>bench/fuzz-network.sh</c>
/// runs 100 000) and <c>RELAY_FUZZ_SEED</c> the seed, so a failure can be replayed.
/// </remarks>
public sealed class NetworkFuzzTests(ITestOutputHelper output) : InteropTestBase(output)
{
    private const string Password = "fuzz-Pa55";
    private static readonly IPAddress Fuzzer = IPAddress.Parse("127.0.0.4");

    [Fact]
    public async Task Hostile_traffic_never_crashes_the_relay_nor_disturbs_a_playing_reader()
    {
        var total = int.Parse(Environment.GetEnvironmentVariable("RELAY_FUZZ_REQUESTS") ?? "3000", CultureInfo.InvariantCulture);
        var seed = int.Parse(Environment.GetEnvironmentVariable("RELAY_FUZZ_SEED") ?? "20261202", CultureInfo.InvariantCulture);
        var settings = new Dictionary<string, string?>
        {
            ["Relay:Streams:demo:Source"] = "test:size=320x240&fps=25&gop=25&bitrate=300",
            ["Relay:Rtsp:RequestTimeout"] = "2s",
            ["Relay:Rtsp:SessionTimeout"] = "5s", // idle connections (a stall after whole requests) close sooner
            ["Relay:Auth:SlowAfterFailures"] = "1000000", // the fuzzer's wrong credentials must not slow it down
            ["Relay:Auth:BlockAfterFailures"] = "1000000",
            ["Logging:LogLevel:Relay.Server.Rtsp"] = "Information",
        }.AddUser("vms", Password);
        await using var relay = await RelayHost.StartAsync(settings, Logs);
        var url = relay.RtspUrl("demo").ToString();
        await using var reader = LiveProcess.Ffmpeg(new UriBuilder(relay.RtspUrl("demo")) { UserName = "vms", Password = Password }.Uri, "tcp");
        await reader.WaitForFramesAsync(25, TimeSpan.FromSeconds(30));
        var framesBefore = reader.Frames;

        var basic = Users.BasicHeader("vms", Password)["Authorization: ".Length..];
        var heapBefore = GC.GetTotalMemory(forceFullCollection: true);
        var random = new Random(seed);
        var next = 0;
        var sent = 0;
        var started = DateTime.UtcNow;
        var workers = Enumerable.Range(0, 8).Select(w => Task.Run(async () =>
        {
            Random own;
            lock (random)
            {
                own = new Random(random.Next());
            }

            var generator = new HostileRtsp(own, url, basic);
            while (Interlocked.Add(ref next, 0) < total)
            {
                // One connection carries one to eight messages, then ends its side (or, now and then, stalls mid-request).
                var messages = new List<byte[]>();
                for (var i = own.Next(1, 9); i > 0 && Interlocked.Increment(ref next) <= total; i--)
                {
                    messages.Add(generator.Next());
                }

                await SendAsync(relay.RtspPort, messages, stall: messages.Count == 1 && messages[0].Length % 97 == 0);
                Interlocked.Add(ref sent, messages.Count);
            }
        })).ToList();
        await Task.WhenAll(workers).WaitAsync(TimeSpan.FromMinutes(10));
        var elapsed = DateTime.UtcNow - started;

        await using var client = await RawRtspClient.ConnectAsync(relay.RtspPort);
        var describe = await client.RequestAsync("DESCRIBE", url, 1, Users.BasicHeader("vms", Password));
        await reader.WaitForFramesAsync(reader.Frames + 25, TimeSpan.FromSeconds(30));
        await Eventually.WaitAsync(() => !relay.Rtsp.Sessions.Any(s => s.Connection.RemoteAddress.Equals(Fuzzer)), TimeSpan.FromSeconds(30), "the fuzzer's sessions to end");
        var frames = reader.FrameReports();
        await reader.QuitFfmpegAsync(TimeSpan.FromSeconds(10));
        var heapAfter = GC.GetTotalMemory(forceFullCollection: true);
        Output.WriteLine($"{sent} hostile messages in {elapsed.TotalSeconds:0.0} s (seed {seed}); reader frames {framesBefore} -> {frames[^1].Frames}; "
            + $"managed heap {heapBefore / 1e6:0.0} MB before, {heapAfter / 1e6:0.0} MB after; {relay.Rtsp.ConnectionCount} RTSP connection(s) open");

        Assert.Equal(total, sent);
        Assert.Equal(200, describe.Status);
        Assert.DoesNotContain(Logs.Lines, l => l.Contains(" fail ", StringComparison.Ordinal) || l.Contains(" crit ", StringComparison.Ordinal));
        Assert.True(string.IsNullOrWhiteSpace(reader.Stderr), reader.Stderr);
        Assert.Equal(0, relay.Rtsp.Sessions.Where(s => s.IsPlaying).Sum(s => s.SkippedFrames));

        // Unbroken: from the fuzzing's start on, the frame count grew at the camera's rate (25 per second; ffmpeg
        // reports every 0.5 s, so each end of the span is known to about 13 frames).
        var during = frames.SkipWhile(f => f.At < started).ToList();
        var gaps = during.Zip(during.Skip(1)).Where(p => p.Second.Frames == p.First.Frames && p.Second.At - p.First.At > TimeSpan.FromSeconds(0.9)).ToList();
        Assert.Empty(gaps);
        var span = during[^1].At - during[0].At;
        Assert.InRange(during[^1].Frames - during[0].Frames, (25 * span.TotalSeconds) - 30, (25 * span.TotalSeconds) + 30);
    }

    /// <summary>Sends the messages on a new connection from the fuzzer's address, ends its side, and reads until the relay closes.</summary>
    private static async Task SendAsync(int port, List<byte[]> messages, bool stall)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(Fuzzer, 0));
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        try
        {
            await socket.ConnectAsync(IPAddress.Loopback, port, deadline.Token);
            foreach (var message in messages)
            {
                await socket.SendAsync(stall ? message.AsMemory(0, message.Length / 2) : message, deadline.Token);
            }

            if (!stall)
            {
                socket.Shutdown(SocketShutdown.Send);
            }

            var buffer = new byte[16 * 1024];
            while (await socket.ReceiveAsync(buffer, deadline.Token) > 0)
            {
            }
        }
        catch (SocketException)
        {
            // The relay cut the connection (malformed input, a limit): what it should do.
        }
        catch (OperationCanceledException)
        {
            // A stalled connection the relay still holds within its timeouts; the next one goes on.
        }
    }
}
