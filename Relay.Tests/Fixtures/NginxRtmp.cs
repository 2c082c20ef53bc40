using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Relay.Tests.Fixtures;

/// <summary>
/// A real RTMP server: Debian's nginx with libnginx-mod-rtmp, on loopback, one <c>live</c> application. It can be
/// stopped and started again on the same port (an outage), and made to refuse publishing (a wrong stream key). With
/// TLS, nginx's stream module terminates RTMPS in front of it (as RTMPS ingests do), with a self-signed certificate
/// for 127.0.0.1.
/// </summary>
public sealed class NginxRtmp : IAsyncDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("relay-nginx-");
    private readonly bool _refusePublish;
    private Process? _process;

    private NginxRtmp(int port, bool refusePublish, int tlsPort)
    {
        Port = port;
        _refusePublish = refusePublish;
        TlsPort = tlsPort;
    }

    public int Port { get; }

    /// <summary>Gets the RTMPS port, 0 without TLS.</summary>
    public int TlsPort { get; }

    /// <summary>Gets the certificate the RTMPS port presents (self-signed), when there is one.</summary>
    public X509Certificate2? Certificate { get; private set; }

    /// <summary>Gets the RTMPS URL for a stream key.</summary>
    public Uri TlsUrl(string key) => new($"rtmps://127.0.0.1:{TlsPort}/live/{key}");

    /// <summary>Gets the URL readers play (and Relay publishes to) for a stream key.</summary>
    public Uri Url(string key) => new($"rtmp://127.0.0.1:{Port}/live/{key}");

    /// <summary>Starts a server on a free loopback port.</summary>
    /// <param name="refusePublish">Whether publishing is denied (as a platform refuses a wrong stream key).</param>
    /// <param name="tls">Whether an RTMPS port is served too.</param>
    public static async Task<NginxRtmp> StartAsync(bool refusePublish = false, bool tls = false)
    {
        var server = new NginxRtmp(FreePort(), refusePublish, tls ? FreePort() : 0);
        if (tls)
        {
            server.WriteCertificate();
        }

        await server.StartAgainAsync();
        return server;
    }

    /// <summary>A port the OS says is free (nginx takes its ports from its configuration).</summary>
    private static int FreePort()
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        return ((IPEndPoint)probe.LocalEndpoint).Port;
    }

    private void WriteCertificate()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=rtmps.test", key, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        san.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(san.Build());
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));
        File.WriteAllText(Path.Combine(_dir.FullName, "cert.pem"), certificate.ExportCertificatePem());
        File.WriteAllText(Path.Combine(_dir.FullName, "key.pem"), key.ExportPkcs8PrivateKeyPem());
        Certificate = X509CertificateLoader.LoadCertificate(certificate.RawData);
    }

    /// <summary>Starts the server (again) on its port and waits until it accepts connections.</summary>
    public async Task StartAgainAsync()
    {
        var config = Path.Combine(_dir.FullName, "nginx.conf");
        var stream = TlsPort == 0 ? "" : $$"""
            stream {
                server {
                    listen 127.0.0.1:{{TlsPort}} ssl;
                    ssl_certificate {{_dir.FullName}}/cert.pem;
                    ssl_certificate_key {{_dir.FullName}}/key.pem;
                    proxy_pass 127.0.0.1:{{Port}};
                }
            }
            """;
        await File.WriteAllTextAsync(config, $$"""
            load_module /usr/lib/nginx/modules/ngx_rtmp_module.so;
            {{(TlsPort == 0 ? "" : "load_module /usr/lib/nginx/modules/ngx_stream_module.so;")}}
            daemon off;
            master_process off;
            pid {{_dir.FullName}}/nginx.pid;
            error_log stderr warn;
            events { worker_connections 256; }
            rtmp {
                server {
                    listen 127.0.0.1:{{Port}};
                    chunk_size 4096;
                    application live {
                        live on;
                        record off;
                        {{(_refusePublish ? "deny publish all;" : "allow publish 127.0.0.1; deny publish all;")}}
                        allow play all;
                    }
                }
            }
            {{stream}}
            """);
        var start = new ProcessStartInfo("nginx") { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var arg in new[] { "-p", _dir.FullName, "-c", config, "-e", "stderr" })
        {
            start.ArgumentList.Add(arg);
        }

        _process = Process.Start(start)!;
        _process.OutputDataReceived += (_, _) => { };
        _process.ErrorDataReceived += (_, _) => { };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        await Eventually.WaitAsync(async () => _process.HasExited || await AcceptsAsync(), TimeSpan.FromSeconds(20), "nginx to listen");
        if (_process.HasExited)
        {
            throw new InvalidOperationException($"nginx exited with {_process.ExitCode}");
        }
    }

    /// <summary>Stops the server (an outage); readers and publishers are cut off.</summary>
    public async Task StopAsync()
    {
        if (_process is { HasExited: false } process)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        _process?.Dispose();
        Certificate?.Dispose();
        _dir.Delete(recursive: true);
    }

    private async Task<bool> AcceptsAsync()
    {
        try
        {
            foreach (var port in TlsPort == 0 ? [Port] : new[] { Port, TlsPort })
            {
                using var client = new TcpClient();
                await client.ConnectAsync(IPAddress.Loopback, port);
            }

            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }
}
