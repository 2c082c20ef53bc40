using System.Text.Json;
using System.Text.RegularExpressions;
using Relay.Tests.Fixtures;
using Xunit.Abstractions;

namespace Relay.Tests.Metrics;

/// <summary>The metrics an operator scrapes, checked by a real Prometheus and promtool.</summary>
public sealed partial class MetricsTests(ITestOutputHelper output) : InteropTestBase(output)
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(45);

    [Fact]
    public async Task Prometheus_sees_a_stream_go_up_and_down_its_readers_and_its_reconnects()
    {
        await using var camera = await FakeCamera.StartAsync();
        await using var relay = await RelayHost.StartAsync(
            new Dictionary<string, string?> { ["Relay:Streams:cam1:Source"] = camera.Url.ToString(), ["Relay:Streams:cam1:MaxRetryDelay"] = "1s" },
            Logs);
        await using var prometheus = await PrometheusServer.StartAsync(relay.HttpBase);

        await prometheus.WaitForAsync("relay_stream_up{stream=\"cam1\"}", v => v == 1, Timeout);
        var readers = new List<LiveProcess> { LiveProcess.Ffmpeg(relay.RtspUrl("cam1"), "tcp"), LiveProcess.Ffmpeg(relay.RtspUrl("cam1"), "tcp"), LiveProcess.Ffmpeg(relay.RtspUrl("cam1"), "udp") };
        try
        {
            foreach (var reader in readers)
            {
                await reader.WaitForFramesAsync(10, Timeout);
            }

            var counted = await prometheus.WaitForAsync("sum(relay_stream_readers{stream=\"cam1\"})", v => v == 3, Timeout);
            var tcpBytes = await prometheus.WaitForAsync("relay_stream_outbound_bytes_total{stream=\"cam1\",protocol=\"rtsp_tcp\"}", v => v > 0, Timeout);
            var udpBytes = await prometheus.WaitForAsync("relay_stream_outbound_bytes_total{stream=\"cam1\",protocol=\"rtsp_udp\"}", v => v > 0, Timeout);
            var reconnectsBefore = await prometheus.WaitForAsync("sum(relay_source_reconnects_total{stream=\"cam1\"})", _ => true, Timeout);

            await camera.PowerOffAsync();
            var down = await prometheus.WaitForAsync("relay_stream_up{stream=\"cam1\"}", v => v == 0, Timeout);
            await camera.PowerOnAsync();
            var reconnects = await prometheus.WaitForAsync("sum(relay_source_reconnects_total{stream=\"cam1\"})", v => v > reconnectsBefore, Timeout);
            var up = await prometheus.WaitForAsync("relay_stream_up{stream=\"cam1\"}", v => v == 1, Timeout);

            Assert.Equal(3, counted);
            Assert.True(tcpBytes > 0 && udpBytes > 0, "bytes sent to readers are counted for both transports");
            Assert.Equal(0, down);
            Assert.True(reconnects > reconnectsBefore);
            Assert.Equal(1, up);
        }
        finally
        {
            foreach (var reader in readers)
            {
                await reader.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task Promtool_accepts_the_metrics_and_every_dashboard_query_names_a_real_metric()
    {
        await using var relay = await RelayHost.StartAsync(new Dictionary<string, string?> { ["Relay:Streams:demo:Source"] = "test:size=320x240&fps=25&gop=25&bitrate=300" }, Logs);
        await Clients.ProbeAsync(relay.RtspUrl("demo"), "tcp");
        using var http = new HttpClient { BaseAddress = relay.HttpBase };
        var exposition = await http.GetStringAsync("/metrics");

        var promtool = await ExternalProcess.RunAsync("promtool", ["check", "metrics"], TimeSpan.FromSeconds(30), stdin: exposition);
        var exposed = SeriesName().Matches(exposition).Select(m => m.Groups[1].Value).ToHashSet();
        var dashboard = JsonDocument.Parse(await File.ReadAllTextAsync(Repository.File("k8s", "grafana-dashboard.json")));
        var queried = dashboard.RootElement.GetProperty("panels").EnumerateArray()
            .SelectMany(p => p.GetProperty("targets").EnumerateArray())
            .SelectMany(t => MetricName().Matches(t.GetProperty("expr").GetString()!).Select(m => m.Value))
            .ToHashSet();

        Assert.True(promtool.ExitCode == 0, promtool.Stdout + promtool.Stderr);
        Assert.NotEmpty(queried);
        Assert.All(queried, name => Assert.True(exposed.Contains(name), $"the dashboard queries {name}, which /metrics does not expose"));
        Assert.Contains("relay_build_info", exposed);
        Assert.Contains("process_working_set_bytes", exposed);
    }

    [Fact]
    public async Task Series_of_a_removed_stream_disappear()
    {
        var dir = Directory.CreateTempSubdirectory("relay-metrics-");
        var file = Path.Combine(dir.FullName, "relay.json");
        try
        {
            await File.WriteAllTextAsync(file, """{ "Relay": { "Streams": { "keep": { "Source": "test:size=320x240&bitrate=300" }, "gone": { "Source": "test:size=320x240&bitrate=300" } } } }""");
            await using var relay = await RelayHost.StartAsync(new Dictionary<string, string?>(), Logs, $"--config={file}");
            using var http = new HttpClient { BaseAddress = relay.HttpBase };
            var before = await http.GetStringAsync("/metrics");
            var reloaded = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
            relay.Streams.Reloaded += ok => reloaded.TrySetResult(ok);

            var temp = file + ".tmp";
            await File.WriteAllTextAsync(temp, """{ "Relay": { "Streams": { "keep": { "Source": "test:size=320x240&bitrate=300" } } } }""");
            File.Move(temp, file, overwrite: true);
            Assert.True(await reloaded.Task.WaitAsync(TimeSpan.FromSeconds(20)));
            var after = await http.GetStringAsync("/metrics");

            Assert.Contains("stream=\"gone\"", before, StringComparison.Ordinal);
            Assert.DoesNotContain("stream=\"gone\"", after, StringComparison.Ordinal);
            Assert.Contains("stream=\"keep\"", after, StringComparison.Ordinal);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task Camera_credentials_appear_in_no_metric_api_response_or_log()
    {
        const string user = "camuser7";
        const string password = "s3cr3t-Pw0rd";
        await using var camera = await FakeCamera.StartAsync(new FakeCameraOptions { User = user, Password = password });
        await using var relay = await RelayHost.StartAsync(
            new Dictionary<string, string?>
            {
                ["Relay:Streams:cam1:Source"] = camera.UrlWithCredentials().ToString(),
                ["Relay:Streams:wrong:Source"] = camera.UrlWithCredentials(user, "not-" + password).ToString(),
            },
            Logs);
        await Clients.ProbeAsync(relay.RtspUrl("cam1"), "tcp");
        await Eventually.WaitAsync(() => relay.Streams.TryGetStream("wrong", out var r) && r.Status.LastError == Relay.Configuration.RelayError.SourceUnauthorized, Timeout, "the wrong password to be refused");
        using var http = new HttpClient { BaseAddress = relay.HttpBase };

        var texts = new[]
        {
            await http.GetStringAsync("/metrics"),
            await http.GetStringAsync("/api/v1/streams"),
            await http.GetStringAsync("/api/v1/streams/cam1"),
            string.Join('\n', Logs.Lines),
        };

        Assert.Contains("rtsp://***@127.0.0.1", texts[1], StringComparison.Ordinal);
        foreach (var text in texts)
        {
            Assert.DoesNotContain(password, text, StringComparison.Ordinal);
            Assert.DoesNotContain(user, text, StringComparison.Ordinal);
        }
    }

    [GeneratedRegex(@"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{| )", RegexOptions.Multiline)]
    private static partial Regex SeriesName();

    [GeneratedRegex(@"\b(?:relay|process|dotnet)_[a-z0-9_]+\b")]
    private static partial Regex MetricName();
}
