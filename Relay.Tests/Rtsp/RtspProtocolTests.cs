using Microsoft.Extensions.DependencyInjection;
using System.Text;
using Relay.Tests.Fixtures;
using Xunit.Abstractions;

namespace Relay.Tests.Rtsp;

/// <summary>
/// Requests no real client sends on purpose (garbage, oversized, truncated, out of order) get the right status
/// code, and never disturb another reader.
/// </summary>
public sealed class RtspProtocolTests(ITestOutputHelper output) : InteropTestBase(output)
{
    [Fact]
    public async Task Options_lists_the_methods()
    {
        await using var relay = await StartRelayAsync();
        await using var client = await RawRtspClient.ConnectAsync(relay.RtspPort);

        var response = await client.RequestAsync("OPTIONS", relay.RtspUrl("demo").ToString(), 1);

        Assert.Equal(200, response.Status);
        Assert.Equal("1", response.Headers["CSeq"]);
        Assert.Contains("DESCRIBE", response.Headers["Public"], StringComparison.Ordinal);
        Assert.Contains("GET_PARAMETER", response.Headers["Public"], StringComparison.Ordinal);
    }

    [Fact]
    public async Task Describe_returns_an_sdp_with_the_stream_tracks()
    {
        await using var relay = await StartRelayAsync();
        await using var client = await RawRtspClient.ConnectAsync(relay.RtspPort);

        var response = await client.RequestAsync("DESCRIBE", relay.RtspUrl("demo").ToString(), 2, "Accept: application/sdp");

        Assert.Equal(200, response.Status);
        Assert.Equal("application/sdp", response.Headers["Content-Type"]);
        Assert.Equal(relay.RtspUrl("demo") + "/", response.Headers["Content-Base"]);
        Assert.Contains("m=video 0 RTP/AVP 96", response.Body, StringComparison.Ordinal);
        Assert.Matches("a=fmtp:96 packetization-mode=1;profile-level-id=[0-9A-F]{6};sprop-parameter-sets=[A-Za-z0-9+/=]+,[A-Za-z0-9+/=]+", response.Body);
        Assert.Contains("a=control:trackID=0", response.Body, StringComparison.Ordinal);
        Assert.Contains("m=audio 0 RTP/AVP 97", response.Body, StringComparison.Ordinal);
        Assert.Contains("a=rtpmap:97 MPEG4-GENERIC/48000/1", response.Body, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("DESCRIBE", "/nosuchstream", 404)]
    [InlineData("DESCRIBE", "/demo/trackID=0", 404)]
    [InlineData("SETUP", "/nosuchstream/trackID=0", 404)]
    [InlineData("SETUP", "/demo/trackID=7", 404)]
    [InlineData("SETUP", "/demo", 459)]
    [InlineData("PLAY", "/demo", 454)]
    [InlineData("PAUSE", "/demo", 454)]
    [InlineData("TEARDOWN", "/demo", 454)]
    [InlineData("FROBNICATE", "/demo", 501)]
    [InlineData("ANNOUNCE", "/demo", 405)]
    [InlineData("RECORD", "/demo", 405)]
    public async Task Requests_out_of_place_get_their_status_code(string method, string path, int status)
    {
        await using var relay = await StartRelayAsync();
        await using var client = await RawRtspClient.ConnectAsync(relay.RtspPort);
        var url = $"rtsp://127.0.0.1:{relay.RtspPort}{path}";

        var response = await client.RequestAsync(method, url, 3, "Transport: RTP/AVP/TCP;unicast;interleaved=0-1");
        var next = await client.RequestAsync("OPTIONS", url, 4);

        Assert.Equal(status, response.Status);
        Assert.Equal(200, next.Status); // the connection is still usable
    }

    [Fact]
    public async Task Setup_with_an_unknown_session_or_an_unsupported_transport_is_refused()
    {
        await using var relay = await StartRelayAsync();
        await using var client = await RawRtspClient.ConnectAsync(relay.RtspPort);
        var track = relay.RtspUrl("demo") + "/trackID=0";

        var unknownSession = await client.RequestAsync("SETUP", track, 1, "Transport: RTP/AVP/TCP;unicast;interleaved=0-1", "Session: DEADBEEF");
        var multicast = await client.RequestAsync("SETUP", track, 2, "Transport: RTP/AVP;multicast");
        var secure = await client.RequestAsync("SETUP", track, 3, "Transport: RTP/SAVP/TCP;unicast;interleaved=0-1");
        var record = await client.RequestAsync("SETUP", track, 4, "Transport: RTP/AVP/TCP;unicast;interleaved=0-1;mode=record");
        var none = await client.RequestAsync("SETUP", track, 5);

        Assert.Equal(454, unknownSession.Status);
        Assert.Equal(461, multicast.Status);
        Assert.Equal(461, secure.Status);
        Assert.Equal(461, record.Status);
        Assert.Equal(461, none.Status);
    }

    [Fact]
    public async Task Two_tracks_of_a_session_cannot_share_an_interleaved_channel()
    {
        await using var relay = await StartRelayAsync();
        await using var client = await RawRtspClient.ConnectAsync(relay.RtspPort);
        var url = relay.RtspUrl("demo").ToString();

        var video = await client.RequestAsync("SETUP", url + "/trackID=0", 1, "Transport: RTP/AVP/TCP;unicast;interleaved=0-1");
        var session = video.Headers["Session"].Split(';')[0];
        var sharedRtcp = await client.RequestAsync("SETUP", url + "/trackID=1", 2, "Transport: RTP/AVP/TCP;unicast;interleaved=2-1", $"Session: {session}");
        var sharedRtp = await client.RequestAsync("SETUP", url + "/trackID=1", 3, "Transport: RTP/AVP/TCP;unicast;interleaved=1-2", $"Session: {session}");
        var own = await client.RequestAsync("SETUP", url + "/trackID=1", 4, "Transport: RTP/AVP/TCP;unicast;interleaved=2-3", $"Session: {session}");

        Assert.Equal(200, video.Status);
        Assert.Equal((461, 461, 200), (sharedRtcp.Status, sharedRtp.Status, own.Status));
    }

    [Fact]
    public async Task One_connection_cannot_pile_up_sessions_and_sessions_never_played_expire()
    {
        await using var relay = await StartRelayAsync(("Relay:Rtsp:MaxSessionsPerConnection", "4"), ("Relay:Rtsp:SessionTimeout", "2s"));
        await using var client = await RawRtspClient.ConnectAsync(relay.RtspPort);
        var track = relay.RtspUrl("demo") + "/trackID=0";
        var hub = relay.Streams.FindStream("demo")!.Hub;
        var leasesBefore = hub.Leases;

        // SETUP without a Session header makes a new session each time, each holding a lease on the stream.
        var statuses = new List<int>();
        for (var i = 0; i < 6; i++)
        {
            statuses.Add((await client.RequestAsync("SETUP", track, i + 1, "Transport: RTP/AVP/TCP;unicast;interleaved=0-1")).Status);
        }

        var leasesHeld = hub.Leases - leasesBefore;
        await Eventually.WaitAsync(() => relay.Rtsp.Sessions.Count == 0, TimeSpan.FromSeconds(20), "the sessions never played to expire");
        var afterExpiry = await client.RequestAsync("SETUP", track, 7, "Transport: RTP/AVP/TCP;unicast;interleaved=0-1");

        Assert.Equal([200, 200, 200, 200, 503, 503], statuses);
        Assert.Equal(4, leasesHeld);
        Assert.Equal(200, afterExpiry.Status); // the connection itself is still served
        Assert.Contains(Logs.Lines, l => l.Contains("MaxSessionsPerConnection", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Connections_beyond_the_per_address_limit_get_503_while_a_reader_keeps_every_frame()
    {
        await using var relay = await StartRelayAsync(("Relay:Rtsp:MaxConnectionsPerAddress", "4"));
        var server = relay.Rtsp;
        var reader = Clients.ReadWithFfmpegAsync(relay.RtspUrl("demo"), "tcp", seconds: 5);
        await Eventually.WaitAsync(() => server.Sessions.Any(x => x.IsPlaying) && server.ConnectionCount == 1, TimeSpan.FromSeconds(20), "the reader to play, alone");
        var clients = new List<RawRtspClient>();
        try
        {
            // One at a time, each counted by the server before the next: the reader holds one of the four.
            for (var i = 0; i < 6; i++)
            {
                var before = server.ConnectionCount + RefusedCount(relay);
                clients.Add(await RawRtspClient.ConnectAsync(relay.RtspPort));
                await Eventually.WaitAsync(() => server.ConnectionCount + RefusedCount(relay) == before + 1, TimeSpan.FromSeconds(10), $"connection {i + 1} to be counted");
            }

            var served = new List<int>();
            foreach (var client in clients.Take(3))
            {
                served.Add((await client.RequestAsync("OPTIONS", relay.RtspUrl("demo").ToString(), 1)).Status);
            }

            var refused = new List<int?>();
            foreach (var client in clients.Skip(3))
            {
                refused.Add((await client.TryReadResponseAsync(TimeSpan.FromSeconds(10)))?.Status);
            }

            await clients[0].DisposeAsync();
            await Eventually.WaitAsync(() => server.ConnectionCount == 3, TimeSpan.FromSeconds(10), "the closed connection to be forgotten");
            await using var again = await RawRtspClient.ConnectAsync(relay.RtspPort);
            var afterOneLeft = await again.RequestAsync("OPTIONS", relay.RtspUrl("demo").ToString(), 1);
            var read = await reader;

            Assert.Equal([200, 200, 200], served);
            Assert.Equal([503, 503, 503], refused);
            Assert.Equal(200, afterOneLeft.Status);
            Assert.Equal(3, RefusedCount(relay));
            Assert.True(read.ExitCode == 0, read.Result.Stderr);
            Assert.Empty(read.Problems);
            Assert.InRange(read.Frames, 120, 140);
        }
        finally
        {
            foreach (var client in clients)
            {
                await client.DisposeAsync();
            }
        }

        static int RefusedCount(RelayHost relay) =>
            (int)relay.App.Services.GetRequiredService<Relay.Server.Metrics.RelayMetrics>().RtspRefusedConnections.WithLabels("per_address").Value;
    }

    [Fact]
    public async Task A_session_plays_pauses_keeps_alive_and_tears_down_in_order()
    {
        await using var relay = await StartRelayAsync();
        await using var client = await RawRtspClient.ConnectAsync(relay.RtspPort);
        var url = relay.RtspUrl("demo").ToString();

        var setup = await client.RequestAsync("SETUP", url + "/trackID=0", 1, "Transport: RTP/AVP/TCP;unicast;interleaved=0-1");
        var session = setup.Headers["Session"].Split(';')[0];
        var play = await client.RequestAsync("PLAY", url, 2, $"Session: {session}", "Range: npt=0.000-");
        var lateSetup = await client.RequestAsync("SETUP", url + "/trackID=1", 3, "Transport: RTP/AVP/TCP;unicast;interleaved=2-3", $"Session: {session}");
        var keepAlive = await client.RequestAsync("GET_PARAMETER", url, 4, $"Session: {session}");
        var pause = await client.RequestAsync("PAUSE", url, 5, $"Session: {session}");
        var setupWhilePaused = await client.RequestAsync("SETUP", url + "/trackID=1", 6, "Transport: RTP/AVP/TCP;unicast;interleaved=2-3", $"Session: {session}");
        var teardown = await client.RequestAsync("TEARDOWN", url, 7, $"Session: {session}");
        var afterTeardown = await client.RequestAsync("PLAY", url, 8, $"Session: {session}");

        Assert.Equal(200, setup.Status);
        Assert.Matches("^RTP/AVP/TCP;unicast;interleaved=0-1;ssrc=[0-9A-F]{8}", setup.Headers["Transport"]);
        Assert.EndsWith(";timeout=60", setup.Headers["Session"], StringComparison.Ordinal);
        Assert.Equal(200, play.Status);
        Assert.Matches(@"^url=rtsp://[^;]+/trackID=0;seq=\d+;rtptime=\d+$", play.Headers["RTP-Info"]);
        Assert.Equal(455, lateSetup.Status);
        Assert.Equal(200, keepAlive.Status);
        Assert.Equal(200, pause.Status);
        Assert.Equal(200, setupWhilePaused.Status);
        Assert.Equal(200, teardown.Status);
        Assert.Equal(454, afterTeardown.Status);
    }

    [Fact]
    public async Task A_request_without_cseq_or_with_another_version_is_refused()
    {
        await using var relay = await StartRelayAsync();
        await using var client = await RawRtspClient.ConnectAsync(relay.RtspPort);

        await client.SendAsync($"OPTIONS {relay.RtspUrl("demo")} RTSP/1.0\r\n\r\n");
        var noCSeq = await client.ReadResponseAsync();
        var v2 = await SendVersionAsync(client, relay);
        var require = await client.RequestAsync("OPTIONS", relay.RtspUrl("demo").ToString(), 9, "Require: com.example.funky");

        Assert.Equal(400, noCSeq.Status);
        Assert.Equal(505, v2.Status);
        Assert.Equal(551, require.Status);
        Assert.Equal("com.example.funky", require.Headers["Unsupported"]);
    }

    [Theory]
    [InlineData("garbage")]
    [InlineData("oversized")]
    [InlineData("truncated")]
    [InlineData("binary")]
    public async Task Bad_bytes_get_an_error_and_close_only_that_connection_while_another_reader_keeps_every_frame(string kind)
    {
        await using var relay = await StartRelayAsync(("Relay:Rtsp:RequestTimeout", "1s"), ("Relay:Rtsp:MaxRequestBytes", "4096"));
        var reader = Clients.ReadWithFfmpegAsync(relay.RtspUrl("demo"), "tcp", seconds: 5);
        await Eventually.WaitAsync(() => relay.App.Services.GetService(typeof(Relay.Server.Rtsp.RtspServer)) is Relay.Server.Rtsp.RtspServer s && s.Sessions.Any(x => x.IsPlaying), TimeSpan.FromSeconds(20), "the reader to play");
        await using var client = await RawRtspClient.ConnectAsync(relay.RtspPort);

        var expected = kind switch
        {
            "garbage" => await Send(client, "\u0001\u0002 this is not RTSP at all\r\n\r\n", 400),
            "binary" => await Send(client, Encoding.Latin1.GetString([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03]), 400),
            "oversized" => await Send(client, $"DESCRIBE {relay.RtspUrl("demo")} RTSP/1.0\r\nCSeq: 1\r\nX-Pad: {new string('a', 8000)}\r\n\r\n", 413),
            _ => await Send(client, $"DESCRIBE {relay.RtspUrl("demo")} RTSP/1.0\r\nCSeq: 1\r\nAcc", 400),
        };
        var closed = await client.IsClosedByServerAsync(TimeSpan.FromSeconds(5));
        var read = await reader;

        Assert.Equal(expected.Expected, expected.Actual);
        Assert.True(closed, "the server closes the offending connection");
        Assert.True(read.ExitCode == 0, read.Result.Stderr);
        Assert.Empty(read.Problems);
        Assert.InRange(read.Frames, 120, 140);

        static async Task<(int Expected, int? Actual)> Send(RawRtspClient client, string text, int status)
        {
            await client.SendAsync(Encoding.Latin1.GetBytes(text));
            var response = await client.TryReadResponseAsync(TimeSpan.FromSeconds(5));
            return (status, response?.Status);
        }
    }

    [Fact]
    public async Task Describe_of_a_stream_that_never_had_media_answers_503_within_the_bounded_wait()
    {
        using var blackhole = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        blackhole.Start(); // accepts TCP and never answers
        var port = ((System.Net.IPEndPoint)blackhole.LocalEndpoint).Port;
        await using var relay = await StartRelayAsync(("Relay:Streams:dead:Source", $"rtsp://127.0.0.1:{port}/never"), ("Relay:Rtsp:DescribeTimeout", "1s"));
        await using var client = await RawRtspClient.ConnectAsync(relay.RtspPort);

        var started = DateTime.UtcNow;
        var dead = await client.RequestAsync("DESCRIBE", relay.RtspUrl("dead").ToString(), 1);
        var waited = DateTime.UtcNow - started;
        var live = await client.RequestAsync("DESCRIBE", relay.RtspUrl("demo").ToString(), 2);

        Assert.Equal(503, dead.Status);
        Assert.InRange(waited, TimeSpan.FromSeconds(0.9), TimeSpan.FromSeconds(3));
        Assert.Equal(200, live.Status);
    }

    private static async Task<RawResponse> SendVersionAsync(RawRtspClient client, RelayHost relay)
    {
        await client.SendAsync($"OPTIONS {relay.RtspUrl("demo")} RTSP/2.0\r\nCSeq: 5\r\n\r\n");
        return await client.ReadResponseAsync();
    }

    private async Task<RelayHost> StartRelayAsync(params (string Key, string Value)[] settings)
    {
        var values = new Dictionary<string, string?> { ["Relay:Streams:demo:Source"] = "test:size=320x240&fps=25&gop=25&bitrate=300&audio=aac" };
        foreach (var (key, value) in settings)
        {
            values[key] = value;
        }

        var relay = await RelayHost.StartAsync(values, Logs);
        await Clients.ProbeAsync(relay.RtspUrl("demo"), "tcp"); // the stream is up
        return relay;
    }
}
