using Relay.Tests.Fixtures;
using Xunit.Abstractions;

namespace Relay.Tests.Hosting;

/// <summary>Changing the configuration file adds, removes and changes streams without touching the others.</summary>
public sealed class ReloadTests(ITestOutputHelper output) : InteropTestBase(output)
{
    private const string Pattern = "test:size=320x240&fps=25&gop=25&bitrate=300";

    [Fact]
    public async Task A_reload_adds_and_removes_streams_while_a_reader_of_a_third_keeps_every_frame()
    {
        var dir = Directory.CreateTempSubdirectory("relay-reload-");
        var file = Path.Combine(dir.FullName, "relay.json");
        try
        {
            await WriteAsync(file, ("a", Pattern), ("c", Pattern));
            await using var relay = await RelayHost.StartAsync(new Dictionary<string, string?>(), Logs, $"--config={file}");
            var reloaded = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
            relay.Streams.Reloaded += ok => reloaded.TrySetResult(ok);
            await Clients.ProbeAsync(relay.RtspUrl("c"), "tcp");
            var reader = Clients.ReadWithFfmpegAsync(relay.RtspUrl("c"), "tcp", seconds: 6);
            await Eventually.WaitAsync(() => relay.Rtsp.Sessions.Any(s => s.IsPlaying), TimeSpan.FromSeconds(20), "the reader to play");

            await WriteAsync(file, ("c", Pattern), ("d", Pattern));
            var applied = await reloaded.Task.WaitAsync(TimeSpan.FromSeconds(20));
            var added = await Clients.ProbeAsync(relay.RtspUrl("d"), "tcp");
            var removed = await Clients.DescribeStatusAsync(relay.RtspPort, relay.RtspUrl("a"));
            var read = await reader;

            Assert.True(applied);
            Assert.Equal("h264", Assert.Single(added)["codec_name"]);
            Assert.Equal(404, removed.Status);
            Assert.True(read.ExitCode == 0, read.Result.Stderr);
            Assert.Empty(read.Problems);
            Assert.InRange(read.Frames, 145, 175);
            Assert.True(relay.Streams.TryGetStream("c", out var c) && c.Hub.Epochs == 1, "the unchanged stream was not restarted");
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task An_invalid_reload_is_rejected_with_every_error_and_the_last_good_configuration_stays()
    {
        var dir = Directory.CreateTempSubdirectory("relay-reload-");
        var file = Path.Combine(dir.FullName, "relay.json");
        try
        {
            await WriteAsync(file, ("c", Pattern));
            await using var relay = await RelayHost.StartAsync(new Dictionary<string, string?>(), Logs, $"--config={file}");
            var reloaded = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
            relay.Streams.Reloaded += ok => reloaded.TrySetResult(ok);

            await WriteAsync(file, ("c", Pattern), ("bad", "ftp://nowhere/x"), ("worse", "test:pattern=plaid"));
            var applied = await reloaded.Task.WaitAsync(TimeSpan.FromSeconds(20));
            var stillServed = await Clients.ProbeAsync(relay.RtspUrl("c"), "tcp");

            Assert.False(applied);
            Assert.Contains(Logs.Lines, l => l.Contains("Relay:Streams:bad:Source", StringComparison.Ordinal));
            Assert.Contains(Logs.Lines, l => l.Contains("Relay:Streams:worse:Source", StringComparison.Ordinal));
            Assert.False(relay.Streams.TryGetStream("bad", out _));
            Assert.Equal("h264", Assert.Single(stillServed)["codec_name"]);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task A_configmap_volume_updated_by_the_kubelets_symlink_swap_is_applied()
    {
        // A ConfigMap volume as the kubelet lays it out: relay.json -> ..data/relay.json, ..data -> ..VERSION/. An update
        // writes a new ..VERSION directory, swaps ..data to it with a rename, and deletes the old one; relay.json itself
        // never changes, so a watcher of that file name alone would miss it.
        var dir = Directory.CreateTempSubdirectory("relay-configmap-").FullName;
        try
        {
            await KubeletUpdateAsync(dir, "..2026_12_02_10_00_00.1", ("a", Pattern));
            File.CreateSymbolicLink(Path.Combine(dir, "relay.json"), "..data/relay.json");
            await using var relay = await RelayHost.StartAsync(new Dictionary<string, string?>(), Logs, $"--config={Path.Combine(dir, "relay.json")}");
            var reloaded = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
            relay.Streams.Reloaded += ok => reloaded.TrySetResult(ok);
            await Clients.ProbeAsync(relay.RtspUrl("a"), "tcp");

            await KubeletUpdateAsync(dir, "..2026_12_02_10_01_00.2", ("a", Pattern), ("b", Pattern));
            var applied = await reloaded.Task.WaitAsync(TimeSpan.FromSeconds(30));
            var added = await Clients.ProbeAsync(relay.RtspUrl("b"), "tcp");

            Assert.True(applied);
            Assert.Equal("h264", Assert.Single(added)["codec_name"]);
            Assert.True(relay.Streams.TryGetStream("a", out var a) && a.Hub.Epochs == 1, "the unchanged stream was not restarted");
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private static async Task KubeletUpdateAsync(string dir, string version, params (string Name, string Source)[] streams)
    {
        Directory.CreateDirectory(Path.Combine(dir, version));
        await WriteAsync(Path.Combine(dir, version, "relay.json"), streams);
        var previous = Directory.Exists(Path.Combine(dir, "..data")) ? new DirectoryInfo(Path.Combine(dir, "..data")).LinkTarget : null;
        File.CreateSymbolicLink(Path.Combine(dir, "..data_tmp"), version);
        var swap = await ExternalProcess.RunAsync("mv", ["-T", Path.Combine(dir, "..data_tmp"), Path.Combine(dir, "..data")], TimeSpan.FromSeconds(10)); // rename(2), as the kubelet does
        Assert.True(swap.ExitCode == 0, swap.Stderr);
        if (previous is not null)
        {
            Directory.Delete(Path.Combine(dir, previous), recursive: true);
        }
    }

    private static async Task WriteAsync(string file, params (string Name, string Source)[] streams)
    {
        var entries = string.Join(",", streams.Select(s => $"\"{s.Name}\": {{ \"Source\": \"{s.Source}\" }}"));
        var temp = file + ".tmp";
        await File.WriteAllTextAsync(temp, $"{{ \"Relay\": {{ \"Streams\": {{ {entries} }} }} }}");
        File.Move(temp, file, overwrite: true);
    }
}
