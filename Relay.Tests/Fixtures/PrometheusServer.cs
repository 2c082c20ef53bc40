using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;

namespace Relay.Tests.Fixtures;

/// <summary>
/// A real Prometheus (Debian's package) scraping the relay once a second, on a loopback port the OS picks, queried
/// through its HTTP API.
/// </summary>
public sealed class PrometheusServer : IAsyncDisposable
{
    private readonly Process _process;
    private readonly DirectoryInfo _dir;
    private readonly HttpClient _http;

    private PrometheusServer(Process process, DirectoryInfo dir, int port)
    {
        _process = process;
        _dir = dir;
        _http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
    }

    /// <summary>Starts Prometheus scraping <paramref name="target"/>'s /metrics, with a Bearer token when given.</summary>
    public static async Task<PrometheusServer> StartAsync(Uri target, string? bearerToken = null)
    {
        var authorization = bearerToken is null ? string.Empty : $"""

                authorization:
                  credentials: "{bearerToken}"
            """;
        var dir = Directory.CreateTempSubdirectory("relay-prometheus-");
        var config = Path.Combine(dir.FullName, "prometheus.yml");
        await File.WriteAllTextAsync(config, $"""
            global:
              scrape_interval: 1s
              evaluation_interval: 1s
            scrape_configs:
              - job_name: relay
                static_configs:
                  - targets: ["{target.Authority}"]{authorization}
            """);
        var start = new ProcessStartInfo("prometheus") { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var arg in new[] { $"--config.file={config}", $"--storage.tsdb.path={Path.Combine(dir.FullName, "data")}", "--web.listen-address=127.0.0.1:0", "--log.level=warn" })
        {
            start.ArgumentList.Add(arg);
        }

        var process = Process.Start(start)!;
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var port = 0;
        await Eventually.WaitAsync(() => (port = ListeningPort(process.Id)) > 0 || process.HasExited, TimeSpan.FromSeconds(30), "Prometheus to listen");
        if (process.HasExited)
        {
            throw new InvalidOperationException($"prometheus exited with {process.ExitCode}");
        }

        // It listens before its storage is open and answers 503 until then; /-/ready says when queries will work.
        var server = new PrometheusServer(process, dir, port);
        await Eventually.WaitAsync(server.IsReadyAsync, TimeSpan.FromSeconds(30), "Prometheus to be ready");
        return server;
    }

    private async Task<bool> IsReadyAsync()
    {
        try
        {
            using var response = await _http.GetAsync("/-/ready");
            return response.IsSuccessStatusCode;
        }
        catch (HttpRequestException)
        {
            return false;
        }
    }

    /// <summary>Evaluates an instant query; returns each sample's labels and value.</summary>
    public async Task<List<(Dictionary<string, string> Labels, double Value)>> QueryAsync(string expression)
    {
        using var document = await _http.GetFromJsonAsync<JsonDocument>($"/api/v1/query?query={Uri.EscapeDataString(expression)}");
        var result = new List<(Dictionary<string, string>, double)>();
        foreach (var sample in document!.RootElement.GetProperty("data").GetProperty("result").EnumerateArray())
        {
            var labels = sample.GetProperty("metric").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString()!);
            var value = double.Parse(sample.GetProperty("value")[1].GetString()!, CultureInfo.InvariantCulture);
            result.Add((labels, value));
        }

        return result;
    }

    /// <summary>Waits until a query returns a single value that satisfies <paramref name="condition"/>.</summary>
    public async Task<double> WaitForAsync(string expression, Func<double, bool> condition, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        double? last = null;
        while (DateTime.UtcNow < deadline)
        {
            var samples = await QueryAsync(expression);
            if (samples.Count == 1)
            {
                last = samples[0].Value;
                if (condition(last.Value))
                {
                    return last.Value;
                }
            }

            await Task.Delay(250); // polling interval of an external system, not synchronisation
        }

        throw new TimeoutException($"Prometheus query '{expression}' did not satisfy the condition within {timeout.TotalSeconds:0} s (last value {last?.ToString(CultureInfo.InvariantCulture) ?? "none"})");
    }

    public async ValueTask DisposeAsync()
    {
        _http.Dispose();
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
        _dir.Delete(recursive: true);
    }

    private static int ListeningPort(int pid)
    {
        // The listening socket's inode appears among the process's descriptors; /proc/net/tcp gives its port.
        HashSet<string> inodes;
        try
        {
            inodes = ProcessDescriptors.Targets(pid).Where(t => t.StartsWith("socket:[", StringComparison.Ordinal)).Select(t => t[8..^1]).ToHashSet();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return 0; // not started yet, or gone
        }

        foreach (var line in File.ReadLines("/proc/net/tcp").Skip(1))
        {
            var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length > 9 && parts[3] == "0A" && inodes.Contains(parts[9]))
            {
                return int.Parse(parts[1].Split(':')[1], NumberStyles.HexNumber, CultureInfo.InvariantCulture);
            }
        }

        return 0;
    }
}
