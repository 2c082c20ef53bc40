using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Relay.Server.Hosting;

namespace Relay.Tests.Fixtures;

/// <summary>
/// The real relay, in this process, on loopback ports picked by the OS (HTTP, RTSP, RTP and RTCP all bind 0).
/// </summary>
public sealed class RelayHost : IAsyncDisposable
{
    private readonly string _stateFile;

    private RelayHost(WebApplication app, string stateFile)
    {
        App = app;
        _stateFile = stateFile;
    }

    /// <summary>Gets a state file of its own for a relay (a test that cares passes <c>--Relay:StateFile=…</c>, which wins).</summary>
    public static string TemporaryStateFile() => Path.Combine(Path.GetTempPath(), $"relay-test-state-{Guid.NewGuid():N}.json");

    public WebApplication App { get; }

    internal StreamRegistry Streams => App.Services.GetRequiredService<StreamRegistry>();

    /// <summary>Gets the HTTP base address, for example http://127.0.0.1:41234.</summary>
    public Uri HttpBase { get; private set; } = null!;

    /// <summary>Gets the RTSP port the relay listens on.</summary>
    public int RtspPort { get; private set; }

    /// <summary>Gets the RTSPS port, when a certificate is configured (else 0).</summary>
    public int RtspsPort { get; private set; }

    /// <summary>Gets the URL of a stream, for example rtsp://127.0.0.1:40001/cam1.</summary>
    public Uri RtspUrl(string stream) => new($"rtsp://127.0.0.1:{RtspPort}/{stream}");

    /// <summary>Gets the arguments that keep a relay on loopback, every port chosen by the OS.</summary>
    public static IReadOnlyList<string> LoopbackArgs { get; } =
        ["--urls=http://127.0.0.1:0", "--Relay:Rtsp:Address=127.0.0.1", "--Relay:Rtsp:Port=0", "--Relay:Rtsp:RtpPort=0", "--Relay:Rtsp:RtcpPort=0"];

    /// <summary>Starts a relay with <paramref name="settings"/> (keys like <c>Relay:Streams:cam1:Source</c>).</summary>
    public static async Task<RelayHost> StartAsync(IDictionary<string, string?> settings, ILoggerProvider? logs = null, params string[] extraArgs)
    {
        var stateFile = TemporaryStateFile();
        var app = RelayApp.Build([.. LoopbackArgs, $"--Relay:StateFile={stateFile}", .. extraArgs], builder =>
        {
            builder.Configuration.AddInMemoryCollection(settings);
            builder.Logging.ClearProviders();
            builder.Logging.SetMinimumLevel(LogLevel.Debug);
            if (logs is not null)
            {
                builder.Logging.AddProvider(logs);
            }
        });
        var host = new RelayHost(app, stateFile);
        await app.StartAsync();
        var endpoints = app.Services.GetRequiredService<RelayEndpoints>();
        host.HttpBase = new Uri($"http://{endpoints.Http[0]}");
        host.RtspPort = endpoints.Rtsp!.Port;
        host.RtspsPort = endpoints.Rtsps?.Port ?? 0;
        return host;
    }

    /// <summary>Gets the RTSP server (sessions, for assertions).</summary>
    internal Relay.Server.Rtsp.RtspServer Rtsp => App.Services.GetRequiredService<Relay.Server.Rtsp.RtspServer>();

    public async ValueTask DisposeAsync()
    {
        await App.StopAsync();
        await App.DisposeAsync();
        File.Delete(_stateFile);
    }
}
