using System.Diagnostics;
using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Relay.Server.Metrics;
using Relay.Tests.Fixtures;
using Xunit.Abstractions;

namespace Relay.Tests.Rtsp;

/// <summary>
/// Reader authentication over RTSP with real clients (ffprobe, ffmpeg, gst-launch rtspsrc, credentials in the URL):
/// Digest and Basic, per-stream permissions (also through a channel), stale nonces, and password guessing slowed
/// down and then refused while a reader keeps playing.
/// </summary>
public sealed class RtspAuthTests(ITestOutputHelper output) : InteropTestBase(output)
{
    private const string VmsPassword = "vms-Pa55word!";
    private const string ViewerPassword = "viewer-s3cret";
    private const string AdminPassword = "admin-0therS3cret";

    [Fact]
    public async Task Digest_readers_play_with_the_password_in_the_url_and_without_it_get_401()
    {
        // Digest only: a client that answered with Basic would fail, so success proves Digest.
        var settings = Streams().AddUser("vms", VmsPassword, basic: false);
        await using var relay = await StartAsync(settings);
        var url = WithUser(relay.RtspUrl("demo"), "vms", VmsPassword);

        var probed = await Clients.ProbeAsync(url, "tcp");
        var gst = await Clients.ReadWithGstreamerAsync(url, "tcp", buffers: 25);
        var udp = await Clients.ReadWithFfmpegAsync(url, "udp", seconds: 2);
        var anonymous = await ExternalProcess.RunAsync("ffprobe", ["-v", "error", "-rtsp_transport", "tcp", relay.RtspUrl("demo").ToString()], TimeSpan.FromSeconds(30));

        Assert.Equal("h264", Assert.Single(probed, s => s["codec_type"] == "video")["codec_name"]);
        Assert.True(Clients.GstreamerSucceeded(gst.ExitCode, gst.Stderr), gst.Stderr);
        Assert.True(udp.ExitCode == 0, udp.Result.Stderr);
        Assert.InRange(udp.Frames, 25, 75);
        Assert.NotEqual(0, anonymous.ExitCode);
        Assert.Contains("401", anonymous.Stderr, StringComparison.Ordinal);
        AssertNoSecretLogged(VmsPassword);
    }

    [Fact]
    public async Task Basic_readers_play_and_a_wrong_password_gets_401_and_no_media()
    {
        var settings = Streams().AddUser("viewer", ViewerPassword, digest: false);
        await using var relay = await StartAsync(settings);
        var url = WithUser(relay.RtspUrl("demo"), "viewer", ViewerPassword);

        var probed = await Clients.ProbeAsync(url, "tcp");
        var gst = await Clients.ReadWithGstreamerAsync(url, "tcp", buffers: 25);
        var wrong = await ExternalProcess.RunAsync("ffprobe", ["-v", "error", "-rtsp_transport", "tcp", WithUser(relay.RtspUrl("demo"), "viewer", "guess").ToString()], TimeSpan.FromSeconds(30));
        await using var client = await RawRtspClient.ConnectAsync(relay.RtspPort);
        var challenge = await client.RequestAsync("DESCRIBE", relay.RtspUrl("demo").ToString(), 1);
        var refused = await client.RequestAsync("DESCRIBE", relay.RtspUrl("demo").ToString(), 2, Users.BasicHeader("viewer", "guess"));
        var setup = await client.RequestAsync("SETUP", relay.RtspUrl("demo") + "/trackID=0", 3, "Transport: RTP/AVP/TCP;unicast;interleaved=0-1", Users.BasicHeader("viewer", "guess"));
        var options = await client.RequestAsync("OPTIONS", relay.RtspUrl("demo").ToString(), 4);

        Assert.Equal("h264", Assert.Single(probed, s => s["codec_type"] == "video")["codec_name"]);
        Assert.True(Clients.GstreamerSucceeded(gst.ExitCode, gst.Stderr), gst.Stderr);
        Assert.NotEqual(0, wrong.ExitCode);
        Assert.Contains("401", wrong.Stderr, StringComparison.Ordinal);
        Assert.Equal(401, challenge.Status);
        Assert.Equal("Basic realm=\"Relay\", charset=\"UTF-8\"", challenge.Headers["WWW-Authenticate"]); // no Digest: no user has Digest hashes
        Assert.Equal(401, refused.Status);
        Assert.Empty(refused.Body);
        Assert.Equal(401, setup.Status);
        Assert.Empty(relay.Rtsp.Sessions);
        Assert.Equal(200, options.Status); // OPTIONS needs no credentials
        AssertNoSecretLogged(ViewerPassword);
    }

    [Fact]
    public async Task A_user_reads_only_what_it_is_allowed_describe_setup_and_play_alike_also_through_a_channel()
    {
        var settings = Streams().AddUser("viewer", ViewerPassword, read: "demo").AddUser("admin", AdminPassword);
        await using var relay = await StartAsync(settings);
        var viewer = Users.BasicHeader("viewer", ViewerPassword);
        var admin = Users.BasicHeader("admin", AdminPassword);
        string Url(string path) => relay.RtspUrl(path).ToString();
        await Clients.ProbeAsync(WithUser(relay.RtspUrl("lobby"), "admin", AdminPassword), "tcp"); // both streams are up
        await using var client = await RawRtspClient.ConnectAsync(relay.RtspPort);
        await using var adminClient = await RawRtspClient.ConnectAsync(relay.RtspPort);

        var allowed = await client.RequestAsync("DESCRIBE", Url("demo"), 1, viewer);
        var otherStream = await client.RequestAsync("DESCRIBE", Url("lobby"), 2, viewer);
        var channel = await client.RequestAsync("DESCRIBE", Url("front"), 3, viewer);
        var unknown = await client.RequestAsync("DESCRIBE", Url("nosuch"), 4, viewer);
        var setup = await client.RequestAsync("SETUP", Url("lobby") + "/trackID=0", 5, "Transport: RTP/AVP/TCP;unicast;interleaved=0-1", viewer);
        var adminSetup = await adminClient.RequestAsync("SETUP", Url("lobby") + "/trackID=0", 1, "Transport: RTP/AVP/TCP;unicast;interleaved=0-1", admin);
        var session = adminSetup.Headers["Session"].Split(';')[0];
        var play = await client.RequestAsync("PLAY", Url("lobby"), 6, $"Session: {session}", viewer);
        var adminChannel = await adminClient.RequestAsync("DESCRIBE", Url("front"), 2, admin);
        var adminUnknown = await adminClient.RequestAsync("DESCRIBE", Url("nosuch"), 3, admin);
        var probeChannel = await ExternalProcess.RunAsync("ffprobe", ["-v", "error", "-rtsp_transport", "tcp", WithUser(relay.RtspUrl("front"), "viewer", ViewerPassword).ToString()], TimeSpan.FromSeconds(30));

        Assert.Equal(200, allowed.Status);
        Assert.Equal(403, otherStream.Status);
        Assert.Equal(403, channel.Status);
        Assert.Equal(403, unknown.Status); // a name the user may not read is not revealed to exist or not
        Assert.Equal(403, setup.Status);
        Assert.Equal(200, adminSetup.Status);
        Assert.Equal(403, play.Status);
        Assert.False(relay.Rtsp.Sessions.Single().IsPlaying);
        Assert.Equal(200, adminChannel.Status);
        Assert.Equal(404, adminUnknown.Status);
        Assert.NotEqual(0, probeChannel.ExitCode);
        Assert.Contains("403", probeChannel.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_digest_answer_replayed_after_its_nonce_expired_is_refused_as_stale()
    {
        var settings = Streams().AddUser("vms", VmsPassword, basic: false);
        settings["Relay:Auth:NonceLifetime"] = "1s";
        await using var relay = await StartAsync(settings);
        var url = relay.RtspUrl("demo").ToString();
        await using var client = await RawRtspClient.ConnectAsync(relay.RtspPort);

        var challenge = await client.RequestAsync("DESCRIBE", url, 1);
        var captured = Users.DigestHeader("vms", VmsPassword, "DESCRIBE", url, Users.NonceOf(challenge));
        var answered = await client.RequestAsync("DESCRIBE", url, 2, captured);
        var wrongPassword = await client.RequestAsync("DESCRIBE", url, 3, Users.DigestHeader("vms", "guess", "DESCRIBE", url, Users.NonceOf(challenge)));
        RawResponse replayed = null!;
        var cseq = 4;
        await Eventually.WaitAsync(
            async () => (replayed = await client.RequestAsync("DESCRIBE", url, cseq++, captured)).Status != 200,
            TimeSpan.FromSeconds(20),
            "the nonce to expire");
        await using var fresh = await RawRtspClient.ConnectAsync(relay.RtspPort);
        var again = await fresh.RequestAsync("DESCRIBE", url, 1, Users.DigestHeader("vms", VmsPassword, "DESCRIBE", url, Users.NonceOf(replayed)));

        Assert.Equal(401, challenge.Status);
        Assert.Contains("algorithm=SHA-256", challenge.Headers["WWW-Authenticate"], StringComparison.Ordinal);
        Assert.Contains("algorithm=MD5", challenge.Headers["WWW-Authenticate"], StringComparison.Ordinal);
        Assert.DoesNotContain("Basic", challenge.Headers["WWW-Authenticate"], StringComparison.Ordinal);
        Assert.Equal(200, answered.Status);
        Assert.Equal(401, wrongPassword.Status);
        Assert.DoesNotContain("stale", wrongPassword.Headers["WWW-Authenticate"], StringComparison.Ordinal);
        Assert.Equal(401, replayed.Status);
        Assert.Contains("stale=true", replayed.Headers["WWW-Authenticate"], StringComparison.Ordinal);
        Assert.Equal(200, again.Status); // a new nonce, from another connection, works
    }

    [Fact]
    public async Task Password_guessing_is_slowed_then_refused_while_a_reader_keeps_every_frame()
    {
        var settings = Streams().AddUser("vms", VmsPassword);
        settings["Relay:Auth:SlowAfterFailures"] = "3";
        settings["Relay:Auth:BlockAfterFailures"] = "6";
        await using var relay = await StartAsync(settings);
        var server = relay.Rtsp;
        var url = relay.RtspUrl("demo").ToString();
        var reader = Clients.ReadWithFfmpegAsync(WithUser(relay.RtspUrl("demo"), "vms", VmsPassword), "tcp", seconds: 5);
        await Eventually.WaitAsync(() => server.Sessions.Any(x => x.IsPlaying), TimeSpan.FromSeconds(20), "the reader to play");

        var attacker = IPAddress.Parse("127.0.0.2");
        await using var guesser = await RawRtspClient.ConnectAsync(relay.RtspPort, from: attacker);
        var statuses = new List<int?>();
        var times = new List<TimeSpan>();
        for (var i = 0; i < 8 && statuses.LastOrDefault() != 503; i++)
        {
            var started = Stopwatch.GetTimestamp();
            await guesser.SendAsync($"DESCRIBE {url} RTSP/1.0\r\nCSeq: {i + 1}\r\n{Users.BasicHeader("vms", "guess" + i)}\r\n\r\n");
            statuses.Add((await guesser.TryReadResponseAsync(TimeSpan.FromSeconds(20)))?.Status);
            times.Add(Stopwatch.GetElapsedTime(started));
        }

        var closed = await guesser.IsClosedByServerAsync(TimeSpan.FromSeconds(10));
        await using var rightPasswordBlocked = await RawRtspClient.ConnectAsync(relay.RtspPort, from: attacker);
        var blocked = await rightPasswordBlocked.RequestAsync("DESCRIBE", url, 1, Users.BasicHeader("vms", VmsPassword));
        await using var otherAddress = await RawRtspClient.ConnectAsync(relay.RtspPort);
        var unaffected = await otherAddress.RequestAsync("DESCRIBE", url, 1, Users.BasicHeader("vms", VmsPassword));
        var read = await reader;
        var metrics = relay.App.Services.GetRequiredService<RelayMetrics>();

        Assert.Equal([401, 401, 401, 401, 401, 401, 503], statuses);
        Assert.True(times[3] >= TimeSpan.FromSeconds(0.95) && times[4] >= TimeSpan.FromSeconds(1.95), $"answers 4 and 5 were not slowed down: {string.Join(", ", times)}");
        Assert.True(times[0] < TimeSpan.FromSeconds(1), $"the first answer was slowed down: {times[0]}");
        Assert.True(closed, "the blocked client's connection stays open");
        Assert.Equal(503, blocked.Status);
        Assert.True(int.Parse(blocked.Headers["Retry-After"], System.Globalization.CultureInfo.InvariantCulture) > 0);
        Assert.Equal(200, unaffected.Status);
        Assert.True(read.ExitCode == 0, read.Result.Stderr);
        Assert.Empty(read.Problems);
        Assert.InRange(read.Frames, 120, 140);
        Assert.Equal(6, metrics.ClientAuthFailures.WithLabels("rtsp").Value);
        Assert.Equal(2, metrics.AuthRefused.WithLabels("rtsp").Value);
        Assert.Equal(1, metrics.AuthBlockedAddresses.Value);
        Assert.Contains(Logs.Lines, l => l.Contains("127.0.0.2 failed to authenticate 6 times", StringComparison.Ordinal));
        AssertNoSecretLogged(VmsPassword);
    }

    private static Dictionary<string, string?> Streams() => new()
    {
        ["Relay:Streams:demo:Source"] = "test:size=320x240&fps=25&gop=25&bitrate=300",
        ["Relay:Streams:lobby:Source"] = "test:size=320x240&fps=25&gop=25&bitrate=300",
        ["Relay:Channels:front"] = "demo",
    };

    private static Uri WithUser(Uri url, string user, string password) =>
        new UriBuilder(url) { UserName = Uri.EscapeDataString(user), Password = Uri.EscapeDataString(password) }.Uri;

    private async Task<RelayHost> StartAsync(Dictionary<string, string?> settings) => await RelayHost.StartAsync(settings, Logs);

    private void AssertNoSecretLogged(string secret) =>
        Assert.DoesNotContain(Logs.Lines, l => l.Contains(secret, StringComparison.Ordinal));
}
