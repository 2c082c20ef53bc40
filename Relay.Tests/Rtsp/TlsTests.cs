using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Relay.Server.Hosting;
using Relay.Tests.Hosting;
using Relay.Tests.Fixtures;
using Xunit.Abstractions;

namespace Relay.Tests.Rtsp;

/// <summary>
/// RTSPS and HTTPS with a certificate given as PEM files: real clients (ffprobe, ffmpeg, gst-launch, openssl s_client,
/// HttpClient) read through TLS, a renewed certificate is presented without a restart, and media never leaves TLS.
/// </summary>
public sealed class TlsTests(ITestOutputHelper output) : InteropTestBase(output)
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("relay-tls-");

    private string CertificatePath => Path.Combine(_dir.FullName, "tls.crt");

    private string KeyPath => Path.Combine(_dir.FullName, "tls.key");

    [Fact]
    public async Task Readers_play_over_rtsps_and_the_page_is_served_over_https()
    {
        WriteCertificate("relay-test-1");
        await using var relay = await StartAsync();
        var url = new Uri($"rtsps://127.0.0.1:{relay.RtspsPort}/demo");

        var probed = await Clients.ProbeAsync(url, "tcp");
        var read = await Clients.ReadWithFfmpegAsync(url, "tcp", seconds: 3);
        var gst = await ExternalProcess.RunAsync(
            "gst-launch-1.0",
            ["-q", "rtspsrc", $"location={url}", "tls-validation-flags=0", "!", "rtph264depay", "!", "h264parse", "!", "fakesink", "num-buffers=25"],
            TimeSpan.FromSeconds(60));
        using var handler = new HttpClientHandler { ServerCertificateCustomValidationCallback = (_, certificate, _, _) => certificate?.Subject == "CN=relay-test-1" };
        using var https = new HttpClient(handler);
        var httpsEndpoint = relay.App.Services.GetRequiredService<RelayEndpoints>().Http[1];
        var health = await https.GetStringAsync(new Uri($"https://127.0.0.1:{httpsEndpoint.Port}/healthz"));

        Assert.Equal("h264", Assert.Single(probed, s => s["codec_type"] == "video")["codec_name"]);
        Assert.True(read.ExitCode == 0, read.Result.Stderr);
        Assert.Empty(read.Problems);
        Assert.InRange(read.Frames, 70, 90);
        Assert.True(Clients.GstreamerSucceeded(gst.ExitCode, gst.Stderr), gst.Stderr);
        Assert.Equal("ok\n", health);
    }

    [Fact]
    public async Task Openssl_sees_the_configured_certificate_and_a_renewed_one_without_a_restart()
    {
        WriteCertificate("relay-test-1");
        await using var relay = await StartAsync();

        var first = await SubjectSeenAsync(relay.RtspsPort);
        WriteCertificate("relay-test-2");
        var second = string.Empty;
        await Eventually.WaitAsync(async () => (second = await SubjectSeenAsync(relay.RtspsPort)).Contains("relay-test-2", StringComparison.Ordinal), TimeSpan.FromSeconds(30), "the renewed certificate");

        Assert.Contains("CN = relay-test-1", first, StringComparison.Ordinal);
        Assert.Contains("CN = relay-test-2", second, StringComparison.Ordinal);
        Assert.Contains(Logs.Lines, l => l.Contains("TLS certificate loaded: CN=relay-test-2", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Udp_media_is_refused_on_rtsps_and_interleaved_media_flows_inside_tls()
    {
        WriteCertificate("relay-test-1");
        await using var relay = await StartAsync();
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(IPAddress.Loopback, relay.RtspsPort);
        await using var tls = new SslStream(tcp.GetStream(), false, (_, certificate, _, _) => certificate?.Subject == "CN=relay-test-1");
        await tls.AuthenticateAsClientAsync("relay-test-1");
        var track = $"rtsps://127.0.0.1:{relay.RtspsPort}/demo/trackID=0";

        var udp = await RequestAsync(tls, $"SETUP {track} RTSP/1.0\r\nCSeq: 1\r\nTransport: RTP/AVP;unicast;client_port=5000-5001\r\n\r\n");
        var interleaved = await RequestAsync(tls, $"SETUP {track} RTSP/1.0\r\nCSeq: 2\r\nTransport: RTP/AVP/TCP;unicast;interleaved=0-1\r\n\r\n");
        var session = interleaved.Split("\r\n").Single(l => l.StartsWith("Session:", StringComparison.Ordinal))["Session:".Length..].Split(';')[0].Trim();
        var play = await RequestAsync(tls, $"PLAY rtsps://127.0.0.1:{relay.RtspsPort}/demo RTSP/1.0\r\nCSeq: 3\r\nSession: {session}\r\n\r\n");
        var media = new byte[4];
        await tls.ReadExactlyAsync(media);

        Assert.StartsWith("RTSP/1.0 461", udp, StringComparison.Ordinal);
        Assert.StartsWith("RTSP/1.0 200", interleaved, StringComparison.Ordinal);
        Assert.StartsWith("RTSP/1.0 200", play, StringComparison.Ordinal);
        Assert.Equal((byte)'$', media[0]);
        Assert.Equal(0, media[1]);
    }

    [Fact]
    public async Task A_certificate_that_cannot_be_loaded_stops_the_relay_with_a_configuration_error()
    {
        await File.WriteAllTextAsync(CertificatePath, "-----BEGIN CERTIFICATE-----\nnot a certificate\n-----END CERTIFICATE-----\n");

        var result = await RelayProcess.RunToExitAsync([$"--Relay:Tls:Certificate:Path={CertificatePath}", "--Relay:Rtsp:Port=0", "--Relay:Rtsp:TlsPort=0", "--Relay:Rtsp:RtpPort=0", "--Relay:Rtsp:RtcpPort=0", "--urls=http://127.0.0.1:0"]);

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("Relay:Tls:Certificate: cannot be loaded", result.Stderr, StringComparison.Ordinal);
    }

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        _dir.Delete(recursive: true);
    }

    private static async Task<string> RequestAsync(SslStream tls, string request)
    {
        await tls.WriteAsync(Encoding.ASCII.GetBytes(request));
        var received = new StringBuilder();
        var one = new byte[1];
        while (!received.ToString().EndsWith("\r\n\r\n", StringComparison.Ordinal))
        {
            await tls.ReadExactlyAsync(one);
            received.Append((char)one[0]);
        }

        return received.ToString();
    }

    private static async Task<string> SubjectSeenAsync(int port)
    {
        var result = await ExternalProcess.RunAsync("openssl", ["s_client", "-connect", $"127.0.0.1:{port}", "-servername", "relay.local"], TimeSpan.FromSeconds(30), stdin: string.Empty);
        return string.Join('\n', result.Stdout.Split('\n').Where(l => l.StartsWith("subject=", StringComparison.Ordinal)));
    }

    /// <summary>Writes a self-signed certificate and its key as PEM files, replacing them atomically (as a secret update does).</summary>
    private void WriteCertificate(string name)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        san.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(san.Build());
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));
        foreach (var (path, pem) in new[] { (CertificatePath, certificate.ExportCertificatePem()), (KeyPath, key.ExportPkcs8PrivateKeyPem()) })
        {
            File.WriteAllText(path + ".new", pem);
            File.Move(path + ".new", path, overwrite: true);
        }
    }

    private async Task<RelayHost> StartAsync()
    {
        var settings = new Dictionary<string, string?>
        {
            ["Relay:Streams:demo:Source"] = "test:size=320x240&fps=25&gop=25&bitrate=300",
            ["Relay:Tls:Certificate:Path"] = CertificatePath,
            ["Relay:Tls:Certificate:KeyPath"] = KeyPath,
            ["Relay:Rtsp:TlsPort"] = "0",
        };
        return await RelayHost.StartAsync(settings, Logs, "--urls=http://127.0.0.1:0;https://127.0.0.1:0");
    }
}
