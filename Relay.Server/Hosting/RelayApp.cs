using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Relay.Configuration;
using Relay.Server.Api;
using Relay.Server.Auth;
using Relay.Server.Configuration;
using Relay.Server.Health;
using Relay.Server.Hls;
using Relay.Server.Mjpeg;
using Relay.Server.Web;
using Relay.Server.Metrics;
using Microsoft.Extensions.Logging.Console;
using Prometheus;
using Relay.Server.GStreamer;
using Relay.Server.Rtsp;
using Relay.Server.Sources;
using Relay.Server.Streams;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Relay.Server.Hosting;

/// <summary>Composition of the relay: configuration, services, Kestrel endpoints. Used by Program and by tests.</summary>
internal static partial class RelayApp
{
    /// <summary>Gets Relay's version (major.minor.patch).</summary>
    public static string Version => typeof(RelayApp).Assembly.GetName().Version?.ToString(3) ?? "0.0.0";

    /// <summary>Builds the relay. Throws <see cref="RelayConfigurationException"/> listing every configuration problem.</summary>
    /// <param name="args">Command-line arguments (<c>--Relay:…=</c>, <c>--urls</c>).</param>
    /// <param name="configure">Test hook: more configuration or services before the app is built.</param>
    public static WebApplication Build(string[] args, Action<WebApplicationBuilder>? configure = null)
    {
        // Kestrel warns and ignores URL settings once endpoints are bound in code, so the URLs are taken out of
        // the arguments and environment here and bound explicitly (see RelayEndpoints).
        var (hostArgs, urls) = TakeUrls(args);
        WebApplicationBuilder builder;
        try
        {
            builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = hostArgs, ContentRootPath = AppContext.BaseDirectory });
            AddConfigFile(builder);
        }
        catch (Exception e) when (e is FormatException or System.IO.InvalidDataException or JsonException)
        {
            throw new RelayConfigurationException([DescribeLoadFailure(e)]);
        }

        // Console logs: one line per event by default; Logging:Console:FormatterName=json (or
        // Logging__Console__FormatterName=json) switches to JSON lines with the stream scope, for log collectors.
        builder.Logging.ClearProviders();
        if (string.Equals(builder.Configuration["Logging:Console:FormatterName"], ConsoleFormatterNames.Json, StringComparison.OrdinalIgnoreCase))
        {
            builder.Logging.AddJsonConsole(o =>
            {
                o.IncludeScopes = true;
                o.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ";
                o.UseUtcTimestamp = true;
            });
        }
        else
        {
            builder.Logging.AddSimpleConsole(o =>
            {
                o.SingleLine = true;
                o.TimestampFormat = "HH:mm:ss.fff ";
            });
        }
        configure?.Invoke(builder);
        var (config, errors) = RelayConfigLoader.Load(builder.Configuration);
        if (config is null)
        {
            throw new RelayConfigurationException(errors);
        }

        var http = RelayEndpoints.ParseHttp(urls ?? builder.Configuration["urls"], builder.Configuration["http_ports"], config.Tls.Enabled);
        if (config.Tls.Enabled)
        {
            // Loaded once here so that a bad certificate is a configuration error (exit 2), not a failed start.
            try
            {
                CertificateStore.Load(config.Tls).Dispose();
            }
            catch (Exception e) when (e is System.Security.Cryptography.CryptographicException or IOException or UnauthorizedAccessException)
            {
                throw new RelayConfigurationException([$"Relay:Tls:Certificate: cannot be loaded: {e.Message}"]);
            }

            builder.Services.AddSingleton<CertificateStore>();
        }

        builder.WebHost.UseSetting(WebHostDefaults.ServerUrlsKey, string.Empty);
        builder.WebHost.UseSetting("http_ports", string.Empty);
        builder.WebHost.UseSetting("https_ports", string.Empty);
        var endpoints = new RelayEndpoints();
        builder.WebHost.ConfigureKestrel(kestrel => endpoints.Configure(
            kestrel, http, config.Rtsp, config.Tls.Enabled ? kestrel.ApplicationServices.GetRequiredService<CertificateStore>() : null));

        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(10));
        builder.Services.AddSingleton(config);
        builder.Services.AddSingleton(endpoints);
        builder.Services.TryAddSingleton(TimeProvider.System);
        builder.Services.AddSingleton<ISourceFactory, SourceFactory>();
        builder.Services.AddSingleton<StreamRegistry>();
        builder.Services.AddSingleton<IStreamCatalog>(sp => sp.GetRequiredService<StreamRegistry>());
        builder.Services.AddHostedService(sp => sp.GetRequiredService<StreamRegistry>());
        builder.Services.AddSingleton<RtspServer>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<RtspServer>());
        builder.Services.AddSingleton<HlsServer>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<HlsServer>());
        builder.Services.AddSingleton<SnapshotService>();
        builder.Services.AddSingleton<MjpegServer>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<MjpegServer>());
        builder.Services.AddSingleton<StatusView>();
        builder.Services.AddRelayAuth();
        builder.Services.AddSingleton(_ => new RelayMetrics(Version, GstRuntime.Version));
        builder.Services.AddSingleton<IRtspMetrics>(services => services.GetRequiredService<RelayMetrics>());
        builder.Services.AddSingleton<MetricsCollector>();
        builder.Services.AddSingleton<Readiness>();
        builder.Services.ConfigureHttpJsonOptions(o =>
        {
            // Source-generated metadata only, also in the JIT build (tests, dotnet run): a type the Native AOT build
            // cannot serialize fails there too, instead of working by reflection until it ships.
            o.SerializerOptions.TypeInfoResolverChain.Insert(0, RelayJsonContext.Default);
            foreach (var reflection in o.SerializerOptions.TypeInfoResolverChain.OfType<System.Text.Json.Serialization.Metadata.DefaultJsonTypeInfoResolver>().ToList())
            {
                o.SerializerOptions.TypeInfoResolverChain.Remove(reflection);
            }
        });
        builder.Services.AddProblemDetails();
        builder.Services.AddRelayOpenApi();

        var app = builder.Build();
        var readiness = app.Services.GetRequiredService<Readiness>();
        var rtsp = app.Services.GetRequiredService<RtspServer>();
        readiness.Add(() => app.Lifetime.ApplicationStarted.IsCancellationRequested ? null : "starting");
        readiness.Add(() => app.Lifetime.ApplicationStopping.IsCancellationRequested ? "stopping" : null);
        readiness.Add(() => endpoints.Rtsp is null ? "RTSP listener not bound" : null);
        readiness.Add(() => rtsp.IsUdpReady ? null : "RTSP UDP sockets not bound");
        var metrics = app.Services.GetRequiredService<RelayMetrics>();
        var access = app.Services.GetRequiredService<AccessControl>();
        var registry = app.Services.GetRequiredService<StreamRegistry>();
        registry.Reloaded += applied =>
        {
            if (applied)
            {
                access.Update(registry.Current.Auth);
            }
        };
        access.LogMode();
        _ = app.Services.GetRequiredService<MetricsCollector>();
        app.Lifetime.ApplicationStarted.Register(() =>
            Log.Listening(app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Relay"), endpoints.DescribeRtsp(), string.Join(", ", endpoints.HttpUrls)));
        var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Relay.GStreamer");
        // NativeCallbacks.Failed is static: each app adds its handler while it runs and removes it when stopped, so
        // building relays (tests build many in one process) does not pile up handlers that hold old apps alive.
        Action<Exception> reportNativeFailure = e => Log.NativeCallbackFailed(logger, e);
        NativeCallbacks.Failed += reportNativeFailure;
        app.Lifetime.ApplicationStopped.Register(() => NativeCallbacks.Failed -= reportNativeFailure);
        app.MapWebPages();
        app.MapHealth();
        app.MapStreamsApi();
        app.MapRelayOpenApi();
        app.MapOutputs();
        app.MapMetrics("/metrics", metrics.Registry).RequireAuthorization(Policies.Metrics);
        return app;
    }

    /// <summary>
    /// Gives back what starting up used and no longer needs. A relay allocates little once running (a few GCs a
    /// minute at 32 cameras), so the garbage of building the host (configuration, dependency injection, endpoint
    /// routing, OpenAPI) stayed committed for the life of the process: 12.6 MB of managed heap at one camera before any
    /// collection had run. One compacting, decommitting collection after start and a native heap trim return it.
    /// </summary>
    private static void ReleaseStartupMemory()
    {
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        GstRuntime.ReturnFreedMemory();
    }

    /// <summary>Runs the relay until SIGTERM/Ctrl-C; returns the process exit code.</summary>
    public static async Task<int> RunAsync(string[] args)
    {
        if (CommandLine.Handle(args, Console.Out, Console.Error, Console.In) is { } exit)
        {
            return exit;
        }

        WebApplication app;
        try
        {
            app = Build(args);
        }
        catch (RelayConfigurationException e)
        {
            await Console.Error.WriteLineAsync(e.Message);
            return 2;
        }

        app.Lifetime.ApplicationStarted.Register(() => _ = Task.Run(ReleaseStartupMemory));
        try
        {
            await app.RunAsync();
            return 0;
        }
        catch (Exception e) when (e is GstException or IOException)
        {
            await Console.Error.WriteLineAsync($"Relay cannot start: {e.Message}");
            return 3;
        }
    }

    private static (string[] Args, string? Urls) TakeUrls(string[] args)
    {
        string? urls = null;
        var rest = new List<string>();
        for (var i = 0; i < args.Length; i++)
        {
            var arg = args[i];
            if (arg.StartsWith("--urls=", StringComparison.OrdinalIgnoreCase))
            {
                urls = arg["--urls=".Length..];
            }
            else if (arg.Equals("--urls", StringComparison.OrdinalIgnoreCase) && i + 1 < args.Length)
            {
                urls = args[++i];
            }
            else
            {
                rest.Add(arg);
            }
        }

        foreach (var name in new[] { "ASPNETCORE_URLS", "DOTNET_URLS" })
        {
            if (Environment.GetEnvironmentVariable(name) is { Length: > 0 } value)
            {
                urls ??= value;
                Environment.SetEnvironmentVariable(name, null);
            }
        }

        return (rest.ToArray(), urls);
    }

    /// <summary>
    /// Adds the file named by <c>--config=PATH</c> (or <c>RELAY_CONFIG_FILE</c>) above appsettings.json and below
    /// environment variables and arguments, so those can still override single values.
    /// </summary>
    private static void AddConfigFile(WebApplicationBuilder builder)
    {
        var path = builder.Configuration["config"] ?? Environment.GetEnvironmentVariable("RELAY_CONFIG_FILE");
        if (string.IsNullOrEmpty(path))
        {
            return;
        }

        if (!File.Exists(path))
        {
            throw new RelayConfigurationException([$"config: the file '{path}' does not exist"]);
        }

        var sources = builder.Configuration.Sources;
        var index = sources.Select((s, i) => (s, i)).FirstOrDefault(p => p.s is Microsoft.Extensions.Configuration.EnvironmentVariables.EnvironmentVariablesConfigurationSource { Prefix: null or "" }).i;
        // A Kubernetes ConfigMap volume is a symlink (relay.json -> ..data/relay.json) whose ..data link the kubelet
        // swaps on an update: the file itself never changes, so inotify on it sees nothing. Such a file is polled
        // instead (every 4 s, following the links); a plain file keeps the immediate inotify watcher.
        var full = Path.GetFullPath(path);
        var linked = new FileInfo(full).LinkTarget is not null;
        var provider = new Microsoft.Extensions.FileProviders.PhysicalFileProvider(Path.GetDirectoryName(full)!)
        {
            UsePollingFileWatcher = linked,
            UseActivePolling = linked,
        };
        var file = new Microsoft.Extensions.Configuration.Json.JsonConfigurationSource { Path = Path.GetFileName(full), FileProvider = provider, Optional = false, ReloadOnChange = true };
        sources.Insert(index > 0 ? index : sources.Count, file);
    }

    private static string DescribeLoadFailure(Exception e)
    {
        // The JSON provider reports duplicate keys as "A duplicate key 'Relay:Streams:cam1' was found." in an
        // inner exception of "Failed to load configuration from file …".
        var message = string.Join(" ", Chain(e).Select(x => x.Message));
        const string marker = "Relay:Streams:";
        var at = message.IndexOf(marker, StringComparison.OrdinalIgnoreCase);
        if (message.Contains("duplicate key", StringComparison.OrdinalIgnoreCase) && at >= 0)
        {
            var rest = message[(at + marker.Length)..];
            var end = rest.IndexOfAny([':', '\'']);
            var name = end < 0 ? rest : rest[..end];
            return $"Relay:Streams:{name}: duplicate stream name '{name}' in a configuration file ({message})";
        }

        return $"The configuration could not be read: {message}";
    }

    private static IEnumerable<Exception> Chain(Exception e)
    {
        for (var x = e; x is not null; x = x.InnerException)
        {
            yield return x;
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventIds.RtspListening + 1, LogLevel.Information, "Relay is serving RTSP at {Rtsp} and HTTP at {Http}.")]
        public static partial void Listening(ILogger logger, string rtsp, string http);

        [LoggerMessage(EventIds.NativeCallbackFailed, LogLevel.Error, "A GStreamer callback failed; the event was dropped.")]
        public static partial void NativeCallbackFailed(ILogger logger, Exception exception);
    }
}

/// <summary>The configuration is invalid; the message lists every problem.</summary>
internal sealed class RelayConfigurationException : Exception
{
    public RelayConfigurationException(IReadOnlyList<string> errors)
        : base("Invalid configuration:" + Environment.NewLine + string.Join(Environment.NewLine, errors.Select(e => "  - " + e)))
    {
        Errors = errors;
    }

    public RelayConfigurationException()
        : this([])
    {
    }

    public RelayConfigurationException(string message)
        : this([message])
    {
    }

    public RelayConfigurationException(string message, Exception innerException)
        : base(message, innerException)
    {
        Errors = [message];
    }

    /// <summary>Gets each problem, prefixed by its configuration key.</summary>
    public IReadOnlyList<string> Errors { get; }
}
