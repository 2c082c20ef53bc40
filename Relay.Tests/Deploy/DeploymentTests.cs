using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Configuration;
using Relay.Configuration;
using Relay.Server.Configuration;
using Relay.Tests.Fixtures;
using Xunit.Abstractions;

namespace Relay.Tests.Deploy;

/// <summary>
/// The Kubernetes manifests render, pass the Kubernetes schemas (npm kubernetes-models, not our code), and point at
/// what the image and the relay really have: the ports it serves, the probe paths it answers, the directories it
/// writes, the user it runs as, a configuration it accepts. The Dockerfile passes dockerfilelint.
/// </summary>
public sealed partial class DeploymentTests(ITestOutputHelper output) : InteropTestBase(output)
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(120);

    [Theory]
    [InlineData("k8s")]
    [InlineData("examples/k8s-site")]
    public async Task The_manifests_render_and_every_object_passes_the_kubernetes_schemas(string kustomization)
    {
        var summary = await RenderAndValidateAsync(kustomization);

        var objects = summary.GetProperty("objects").EnumerateArray().Select(o => o.GetString()).ToList();
        Assert.Contains("DaemonSet/relay", objects);
        Assert.Contains("Service/relay", objects);
        Assert.Contains("ConfigMap/relay-config", objects);
        Assert.Contains("ConfigMap/relay-grafana-dashboard", objects);
        if (kustomization != "k8s")
        {
            var monitor = Assert.Single(summary.GetProperty("podMonitors").EnumerateArray());
            var endpoint = Assert.Single(monitor.GetProperty("endpoints").EnumerateArray());
            Assert.Equal(("http", "/metrics"), (endpoint.GetProperty("port").GetString(), endpoint.GetProperty("path").GetString()));
        }
    }

    [Theory]
    [InlineData("k8s")]
    [InlineData("examples/k8s-site")]
    public async Task The_daemonset_points_at_what_the_image_and_the_relay_really_have(string kustomization)
    {
        var summary = await RenderAndValidateAsync(kustomization);
        var image = Dockerfile.Read(Repository.File("Dockerfile"));
        var workload = Assert.Single(summary.GetProperty("workloads").EnumerateArray());
        var pod = workload.GetProperty("pod");
        var container = Assert.Single(workload.GetProperty("containers").EnumerateArray());
        var env = container.GetProperty("env").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString()!);
        var ports = container.GetProperty("ports").EnumerateArray()
            .ToDictionary(p => p.GetProperty("name").GetString()!, p => (Port: p.GetProperty("port").GetInt32(), Protocol: p.GetProperty("protocol").GetString()!));
        var mounts = container.GetProperty("volumeMounts").EnumerateArray()
            .ToDictionary(m => m.GetProperty("path").GetString()!, m => (Volume: m.GetProperty("volume").GetString()!, ReadOnly: m.GetProperty("readOnly").GetBoolean()));

        // Ports: the image exposes them, and they are the relay's own defaults (RTSP, RTP, RTCP) and its HTTP URL.
        Assert.Equal(image.Exposed.Order(), ports.Values.Select(p => $"{p.Port}/{p.Protocol.ToLowerInvariant()}").Order());
        var rtsp = new RtspServerConfig();
        Assert.Equal((rtsp.Port, "TCP"), ports["rtsp"]);
        Assert.Equal((rtsp.RtpPort, "UDP"), ports["rtp"]);
        Assert.Equal((rtsp.RtcpPort, "UDP"), ports["rtcp"]);
        var urls = env.GetValueOrDefault("ASPNETCORE_URLS") ?? image.Environment["ASPNETCORE_URLS"];
        Assert.Equal(ports["http"].Port, new Uri(urls).Port);
        Assert.True(pod.GetProperty("hostNetwork").GetBoolean(), "UDP readers and UDP cameras need the node's network");

        // Probes: on the http port, at paths a running relay answers with 200.
        var probes = container.GetProperty("probes");
        var paths = new List<string>();
        foreach (var kind in new[] { "startup", "liveness", "readiness" })
        {
            var probe = probes.GetProperty(kind);
            Assert.Equal("http", probe.GetProperty("port").GetString());
            paths.Add(probe.GetProperty("path").GetString()!);
        }

        Assert.Equal(["/healthz", "/healthz", "/readyz"], paths);
        await using (var relay = await RelayHost.StartAsync(new Dictionary<string, string?>(), Logs))
        {
            using var http = new HttpClient { BaseAddress = relay.HttpBase };
            foreach (var path in paths.Distinct())
            {
                using var response = await http.GetAsync(path);
                Assert.True(response.StatusCode == HttpStatusCode.OK, $"{path}: {(int)response.StatusCode}");
            }
        }

        // Files: the image's one writable directory is a writable volume, and everything the relay writes is in it.
        var data = image.Volume;
        Assert.False(mounts[data].ReadOnly);
        Assert.StartsWith(data + "/", image.Environment["Relay__StateFile"], StringComparison.Ordinal);
        Assert.StartsWith(data + "/", image.Environment["GST_REGISTRY"], StringComparison.Ordinal);
        Assert.Equal(image.Environment["Relay__StateFile"], env.GetValueOrDefault("Relay__StateFile") ?? image.Environment["Relay__StateFile"]);
        Assert.True(mounts.ContainsKey("/tmp"), "a writable /tmp on a read-only root filesystem");

        // The configuration file: in the mounted ConfigMap, under the key the relay is told to read.
        var configFile = env["RELAY_CONFIG_FILE"];
        var configMount = mounts[Path.GetDirectoryName(configFile)!];
        Assert.True(configMount.ReadOnly);
        var configVolume = pod.GetProperty("volumes").EnumerateArray().Single(v => v.GetProperty("name").GetString() == configMount.Volume);
        var configMap = summary.GetProperty("configMaps").EnumerateArray().Single(c => c.GetProperty("name").GetString() == configVolume.GetProperty("source").GetString());
        Assert.Contains(Path.GetFileName(configFile), configMap.GetProperty("keys").EnumerateArray().Select(k => k.GetString()));
        Assert.Equal("fieldRef:spec.nodeName", env["NODE_NAME"]);

        // The user: the image's, non-root, on a read-only root filesystem with nothing extra.
        var podSecurity = pod.GetProperty("securityContext");
        Assert.Equal(image.User, podSecurity.GetProperty("runAsUser").GetInt32());
        Assert.NotEqual(0, image.User);
        Assert.True(podSecurity.GetProperty("runAsNonRoot").GetBoolean());
        Assert.Equal("RuntimeDefault", podSecurity.GetProperty("seccompProfile").GetProperty("type").GetString());
        var security = container.GetProperty("securityContext");
        Assert.True(security.GetProperty("readOnlyRootFilesystem").GetBoolean());
        Assert.False(security.GetProperty("allowPrivilegeEscalation").GetBoolean());
        Assert.Equal(["ALL"], security.GetProperty("capabilities").GetProperty("drop").EnumerateArray().Select(c => c.GetString()));
        Assert.True(container.GetProperty("preStop").ValueKind != JsonValueKind.Null, "a preStop pause before SIGTERM");
    }

    [Theory]
    [InlineData("k8s", "edge-worker-1")]
    [InlineData("examples/k8s-site", "edge-worker-1")]
    public async Task The_site_configuration_in_the_configmap_is_one_the_relay_accepts(string kustomization, string node)
    {
        var summary = await RenderAndValidateAsync(kustomization);
        var container = Assert.Single(Assert.Single(summary.GetProperty("workloads").EnumerateArray()).GetProperty("containers").EnumerateArray());
        var json = summary.GetProperty("configMaps").EnumerateArray().Single(c => c.GetProperty("name").GetString() == "relay-config")
            .GetProperty("data").GetProperty("relay.json").GetString()!;

        // Settings the DaemonSet gives as environment variables (a camera password from a Secret) join the file's.
        var fromEnvironment = container.GetProperty("env").EnumerateObject()
            .Where(e => e.Name.StartsWith("Relay__Streams__", StringComparison.Ordinal))
            .ToDictionary(e => e.Name.Replace("__", ":", StringComparison.Ordinal), e => (string?)"rtsp://user:secret@10.0.0.1/stream");
        var configuration = new ConfigurationBuilder()
            .AddJsonStream(new MemoryStream(System.Text.Encoding.UTF8.GetBytes(json)))
            .AddInMemoryCollection(fromEnvironment)
            .AddInMemoryCollection(new Dictionary<string, string?> { ["NODE_NAME"] = node })
            .Build();
        var (config, errors) = RelayConfigLoader.Load(configuration);

        Assert.True(config is not null, string.Join("\n", errors));
        Assert.NotEmpty(config.Streams);
        Output.WriteLine($"{kustomization}: on {node}: {string.Join(", ", config.Streams.Values.Select(s => $"{s.Name} ({(config.PullsHere(s) ? "here" : "elsewhere")})"))}");
    }

    [Fact]
    public async Task The_dashboard_configmap_holds_the_repositorys_dashboard_for_the_grafana_sidecar()
    {
        var summary = await RenderAndValidateAsync("k8s");
        var dashboard = summary.GetProperty("configMaps").EnumerateArray().Single(c => c.GetProperty("name").GetString() == "relay-grafana-dashboard");

        Assert.Equal("1", dashboard.GetProperty("labels").GetProperty("grafana_dashboard").GetString());
        Assert.Equal(
            await File.ReadAllTextAsync(Repository.File("k8s", "grafana-dashboard.json")),
            dashboard.GetProperty("data").GetProperty("grafana-dashboard.json").GetString());
    }

    [Fact]
    public async Task Promtool_accepts_the_scrape_configuration()
    {
        // Debian's Prometheus is built without Kubernetes service discovery, so its promtool refuses
        // kubernetes_sd_configs as an unknown field. The discovery block is swapped for a static target and the rest
        // (jobs, relabelling rules and their regular expressions, the static job) is checked as written.
        var text = await File.ReadAllTextAsync(Repository.File("k8s", "prometheus-scrape.yml"));
        const string discovery = "    kubernetes_sd_configs:\n      - role: pod\n";
        Assert.Contains(discovery, text, StringComparison.Ordinal);
        var file = Path.Combine(Path.GetTempPath(), $"relay-scrape-{Guid.NewGuid():N}.yml");
        await File.WriteAllTextAsync(file, text.Replace(discovery, "    static_configs:\n      - targets: [\"127.0.0.1:8080\"]\n", StringComparison.Ordinal));
        try
        {
            var result = await ExternalProcess.RunAsync("promtool", ["check", "config", "--syntax-only", file], Timeout);

            Assert.True(result.ExitCode == 0, result.Stdout + result.Stderr);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public async Task The_validator_refuses_a_broken_manifest()
    {
        // The validator is only as good as its failures: a port written as text must be caught.
        var rendered = await KustomizeAsync("k8s");
        var broken = rendered.Replace("containerPort: 8554", "containerPort: \"8554\"", StringComparison.Ordinal);
        Assert.NotEqual(rendered, broken);

        var result = await ExternalProcess.RunAsync("node", [Repository.File("Relay.Tests", "Deploy", "validate-k8s.mjs")], Timeout, stdin: broken, environment: ToolsEnvironment());

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("containerPort must be integer", result.Stdout + result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Dockerfilelint_reports_nothing_and_the_image_is_built_as_documented()
    {
        var lint = await ExternalProcess.RunAsync(Repository.Tool("k8s", "node_modules", ".bin", "dockerfilelint"), [Repository.File("Dockerfile")], Timeout);
        var image = Dockerfile.Read(Repository.File("Dockerfile"));

        Assert.True(lint.ExitCode == 0, lint.Stdout + lint.Stderr);
        Assert.Equal("SIGTERM", image.StopSignal);
        Assert.Equal("/opt/relay/Relay.Server", image.Entrypoint);
        Assert.Equal("debian:bookworm-slim", $"{image.Arguments["RUNTIME_IMAGE"]}:{image.Arguments["RUNTIME_TAG"]}");
        Assert.Equal("mcr.microsoft.com/dotnet/sdk:10.0", $"{image.Arguments["SDK_IMAGE"]}:{image.Arguments["SDK_TAG"]}");
        Assert.Equal(["8000/udp", "8001/udp", "8080/tcp", "8554/tcp"], image.Exposed.Order());
        Assert.Contains(image.Labels, l => l.StartsWith("org.opencontainers.image.", StringComparison.Ordinal));
    }

    private async Task<JsonElement> RenderAndValidateAsync(string kustomization)
    {
        var rendered = await KustomizeAsync(kustomization);
        var result = await ExternalProcess.RunAsync("node", [Repository.File("Relay.Tests", "Deploy", "validate-k8s.mjs"), "--summary"], Timeout, stdin: rendered, environment: ToolsEnvironment());
        Output.WriteLine(result.Stderr);
        Assert.True(result.ExitCode == 0, $"{kustomization} does not validate:\n{result.Stderr}\n{result.Stdout}");
        return JsonDocument.Parse(result.Stdout).RootElement.Clone();
    }

    private static async Task<string> KustomizeAsync(string kustomization)
    {
        var result = await ExternalProcess.RunAsync("kubectl", ["kustomize", Repository.File(kustomization)], Timeout);
        Assert.True(result.ExitCode == 0, $"kubectl kustomize {kustomization}: {result.Stderr}");
        return result.Stdout;
    }

    private static Dictionary<string, string?> ToolsEnvironment() => new() { ["RELAY_K8S_TOOLS"] = Repository.Tool("k8s") };

    /// <summary>What a Dockerfile declares about the image it makes (the final stage): enough to check manifests against.</summary>
    private sealed partial record Dockerfile(
        IReadOnlyList<string> Exposed,
        int User,
        string Volume,
        string Entrypoint,
        string StopSignal,
        IReadOnlyDictionary<string, string> Environment,
        IReadOnlyDictionary<string, string> Arguments,
        IReadOnlyList<string> Labels)
    {
        public static Dockerfile Read(string path)
        {
            // Instructions with their continuation lines joined, comments dropped.
            var text = ContinuedLine().Replace(string.Join('\n', File.ReadAllLines(path).Where(l => !l.TrimStart().StartsWith('#'))), " ");
            var lines = text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            var finalStage = lines.Select((l, i) => (l, i)).Last(p => p.l.StartsWith("FROM ", StringComparison.Ordinal)).i;
            var final = lines.Skip(finalStage).ToList();
            string[] Words(string instruction) => final.Where(l => l.StartsWith(instruction + " ", StringComparison.Ordinal))
                .SelectMany(l => l[(instruction.Length + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries)).ToArray();
            static Dictionary<string, string> Pairs(IEnumerable<string> words) => words
                .Where(w => w.Contains('=', StringComparison.Ordinal))
                .Select(w => w.Split('=', 2))
                .ToDictionary(p => p[0], p => p[1].Trim('"'));
            return new Dockerfile(
                Words("EXPOSE"),
                int.Parse(Words("USER").Single().Split(':')[0], System.Globalization.CultureInfo.InvariantCulture),
                Words("VOLUME").Single(),
                JsonSerializer.Deserialize<string[]>(final.Single(l => l.StartsWith("ENTRYPOINT ", StringComparison.Ordinal))["ENTRYPOINT ".Length..])!.Single(),
                Words("STOPSIGNAL").Single(),
                Pairs(Words("ENV")),
                Pairs(lines.Where(l => l.StartsWith("ARG ", StringComparison.Ordinal)).Select(l => l[4..])),
                Pairs(Words("LABEL")).Keys.ToList());
        }

        [GeneratedRegex(@"\\\s*\n\s*")]
        private static partial Regex ContinuedLine();
    }
}
