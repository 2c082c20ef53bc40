using System.Diagnostics;
using System.Text.RegularExpressions;
using Relay.Tests.Fixtures;
using Xunit.Abstractions;

namespace Relay.Tests.Hosting;

/// <summary>The relay process, stopped with SIGTERM as Kubernetes does, exits quickly and cleanly.</summary>
public sealed partial class ShutdownTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Sigterm_with_fifty_readers_closes_them_and_exits_within_five_seconds()
    {
        await using var relay = await RelayProcess.StartAsync(output, "--Relay:Streams:demo:Source=test:size=320x240&fps=25&gop=25&bitrate=300");
        var readers = Enumerable.Range(0, 50).Select(_ => LiveProcess.Ffmpeg(relay.RtspUrl("demo"), "tcp")).ToList();
        try
        {
            foreach (var reader in readers)
            {
                await reader.WaitForFramesAsync(10, TimeSpan.FromSeconds(60));
            }

            var stopwatch = Stopwatch.StartNew();
            relay.Terminate();
            var exitCode = await relay.WaitForExitAsync(TimeSpan.FromSeconds(30));
            stopwatch.Stop();
            var readerExits = await Task.WhenAll(readers.Select(r => r.WaitForExitAsync(TimeSpan.FromSeconds(30))));

            output.WriteLine($"exit after SIGTERM: {stopwatch.Elapsed.TotalSeconds:0.00} s");
            Assert.Equal(0, exitCode);
            Assert.InRange(stopwatch.Elapsed, TimeSpan.Zero, TimeSpan.FromSeconds(5));
            Assert.Equal(50, readerExits.Length); // every reader saw its connection end
        }
        finally
        {
            foreach (var reader in readers)
            {
                await reader.DisposeAsync();
            }
        }
    }
}

/// <summary>The relay as its own process (as deployed): ports from 0, read back from its log.</summary>
public sealed partial class RelayProcess : IAsyncDisposable
{
    private Process _process = null!;
    private readonly ITestOutputHelper _output;
    private readonly TaskCompletionSource<int> _port = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly string _stateFile = RelayHost.TemporaryStateFile();

    private RelayProcess(ITestOutputHelper output)
    {
        _output = output;
    }

    public int Pid => _process.Id;

    public int RtspPort => _port.Task.Result;

    public Uri RtspUrl(string stream) => new($"rtsp://127.0.0.1:{RtspPort}/{stream}");

    /// <summary>Gets the HTTP base address the relay reported, for example http://127.0.0.1:41234.</summary>
    public Uri HttpBase { get; private set; } = null!;

    /// <summary>Kills the process at once (SIGKILL), as a power cut or the OOM killer would.</summary>
    public void KillNow()
    {
        _process.Kill();
        _process.WaitForExit();
    }

    public static Task<RelayProcess> StartAsync(ITestOutputHelper output, params string[] args) => StartAsync(output, new Dictionary<string, string?>(), args);

    /// <summary>Starts the relay with <paramref name="environment"/> added to this process's (as a container runtime sets it).</summary>
    public static async Task<RelayProcess> StartAsync(ITestOutputHelper output, IReadOnlyDictionary<string, string?> environment, params string[] args)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false, WorkingDirectory = AppContext.BaseDirectory };
        foreach (var (name, value) in environment)
        {
            start.Environment[name] = value;
        }

        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "Relay.Server.dll"));
        var relay = new RelayProcess(output);
        foreach (var arg in RelayHost.LoopbackArgs.Append($"--Relay:StateFile={relay._stateFile}").Concat(args))
        {
            start.ArgumentList.Add(arg);
        }

        relay._process = Process.Start(start)!;
        relay._process.OutputDataReceived += (_, e) => relay.OnLine(e.Data);
        relay._process.ErrorDataReceived += (_, e) => relay.OnLine(e.Data);
        relay._process.BeginOutputReadLine();
        relay._process.BeginErrorReadLine();
        await relay._port.Task.WaitAsync(TimeSpan.FromSeconds(30));
        return relay;
    }

    /// <summary>
    /// Runs the relay as a process until it exits by itself (help, version, a refused configuration), with its own state
    /// file, and returns what it printed. One that keeps serving fails the call after <paramref name="timeout"/>.
    /// </summary>
    public static async Task<ProcessResult> RunToExitAsync(IReadOnlyList<string> args, IReadOnlyDictionary<string, string?>? environment = null, TimeSpan? timeout = null, string? stdin = null)
    {
        var stateFile = RelayHost.TemporaryStateFile();
        try
        {
            return await ExternalProcess.RunAsync(
                "dotnet",
                [Path.Combine(AppContext.BaseDirectory, "Relay.Server.dll"), .. args, $"--Relay:StateFile={stateFile}"],
                timeout ?? TimeSpan.FromSeconds(60),
                stdin: stdin,
                environment: environment,
                workingDirectory: AppContext.BaseDirectory);
        }
        finally
        {
            File.Delete(stateFile);
        }
    }

    /// <summary>Sends SIGTERM, as a container runtime does.</summary>
    public void Terminate() => Process.Start("kill", ["-TERM", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])!.WaitForExit();

    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        await _process.WaitForExitAsync(cts.Token);
        return _process.ExitCode;
    }

    /// <summary>Reads a number from /proc/PID/status (VmRSS in kB, Threads).</summary>
    public long ProcStatus(string field)
    {
        foreach (var line in File.ReadLines($"/proc/{_process.Id}/status"))
        {
            if (line.StartsWith(field + ":", StringComparison.Ordinal))
            {
                return long.Parse(line[(field.Length + 1)..].Trim().Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture);
            }
        }

        throw new InvalidOperationException($"no {field} in /proc/{_process.Id}/status");
    }

    /// <summary>Gets the number of open file descriptors.</summary>
    public int FileDescriptors => Directory.GetFileSystemEntries($"/proc/{_process.Id}/fd").Length;

    /// <summary>
    /// Gets the open descriptors that are not code: the runtime opens an assembly or a PDB the first time it needs it
    /// (formatting a stack trace does) and keeps it mapped, which is not a leak.
    /// </summary>
    public int DescriptorsOtherThanCode =>
        FileDescriptorTargets().Count(t => !t.EndsWith(".dll", StringComparison.Ordinal) && !t.EndsWith(".pdb", StringComparison.Ordinal) && !t.Contains(".so", StringComparison.Ordinal));

    /// <summary>Gets what each open descriptor points to (socket:[n], anon_inode:[eventfd], files).</summary>
    public List<string> FileDescriptorTargets() => ProcessDescriptors.Targets(_process.Id);

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
        File.Delete(_stateFile);
    }

    private void OnLine(string? line)
    {
        if (line is null)
        {
            return;
        }

        try
        {
            _output.WriteLine(line);
        }
        catch (InvalidOperationException)
        {
            // The test finished.
        }

        if (RtspLine().Match(line) is { Success: true } match)
        {
            HttpBase = new Uri($"http://{match.Groups[2].Value}");
            _port.TrySetResult(int.Parse(match.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture));
        }
    }

    [GeneratedRegex(@"serving RTSP at rtsp://[^:]+:(\d+)/.* and HTTP at http://([\d.]+:\d+|\[[^\]]+\]:\d+)")]
    private static partial Regex RtspLine();
}
