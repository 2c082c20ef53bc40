using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Relay.Tests.Fixtures;

/// <summary>
/// A real RTMP server: Debian's nginx with libnginx-mod-rtmp, on loopback, one <c>live</c> application. It can be
/// stopped and started again on the same port (an outage), and made to refuse publishing (a wrong stream key).
/// </summary>
public sealed class NginxRtmp : IAsyncDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("relay-nginx-");
    private readonly bool _refusePublish;
    private Process? _process;

    private NginxRtmp(int port, bool refusePublish)
    {
        Port = port;
        _refusePublish = refusePublish;
    }

    public int Port { get; }

    /// <summary>Gets the URL readers play (and Relay publishes to) for a stream key.</summary>
    public Uri Url(string key) => new($"rtmp://127.0.0.1:{Port}/live/{key}");

    /// <summary>Starts a server on a free loopback port.</summary>
    /// <param name="refusePublish">Whether publishing is denied (as a platform refuses a wrong stream key).</param>
    public static async Task<NginxRtmp> StartAsync(bool refusePublish = false)
    {
        // nginx takes its port from its configuration: take one the OS says is free.
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        var port = ((IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop();
        var server = new NginxRtmp(port, refusePublish);
        await server.StartAgainAsync();
        return server;
    }

    /// <summary>Starts the server (again) on its port and waits until it accepts connections.</summary>
    public async Task StartAgainAsync()
    {
        var config = Path.Combine(_dir.FullName, "nginx.conf");
        await File.WriteAllTextAsync(config, $$"""
            load_module /usr/lib/nginx/modules/ngx_rtmp_module.so;
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
        _dir.Delete(recursive: true);
    }

    private async Task<bool> AcceptsAsync()
    {
        try
        {
            using var client = new TcpClient();
            await client.ConnectAsync(IPAddress.Loopback, Port);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }
}
