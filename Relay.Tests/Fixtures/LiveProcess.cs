using System.Collections.Concurrent;
using System.Diagnostics;

namespace Relay.Tests.Fixtures;

/// <summary>
/// A real client left running while the test changes the world around it (a camera restart, a reload), whose
/// output lines are recorded with the time they arrived. Killed on dispose.
/// </summary>
public sealed class LiveProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly ConcurrentQueue<(DateTime At, string Line)> _stdout = new();
    private readonly ConcurrentQueue<string> _stderr = new();
    private readonly Task _pump;
    private int _disposed;

    private LiveProcess(Process process)
    {
        _process = process;
        _pump = Task.WhenAll(Pump(process.StandardOutput, l => _stdout.Enqueue((DateTime.UtcNow, l))), Pump(process.StandardError, _stderr.Enqueue));
    }

    public IReadOnlyCollection<(DateTime At, string Line)> Stdout => _stdout;

    public string Stderr => string.Join('\n', _stderr);

    public bool HasExited => _process.HasExited;

    public int Pid => _process.Id;

    public int ExitCode => _process.ExitCode;

    public static LiveProcess Start(string file, params string[] args)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true, UseShellExecute = false };
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException($"{file} did not start");
        return new LiveProcess(process);
    }

    /// <summary>Starts ffmpeg reading <paramref name="url"/> and reporting its frame count twice a second.</summary>
    public static LiveProcess Ffmpeg(Uri url, string transport) =>
        Start("ffmpeg", "-hide_banner", "-nostats", "-loglevel", "level+warning", "-rtsp_transport", transport, "-i", url.ToString(), "-map", "0", "-c", "copy", "-f", "null", "-progress", "pipe:1", "-stats_period", "0.5", "-");

    /// <summary>Gets ffmpeg's reported video frame counts, with when they were reported.</summary>
    public List<(DateTime At, int Frames)> FrameReports() =>
        Stdout.Where(l => l.Line.StartsWith("frame=", StringComparison.Ordinal))
            .Select(l => (l.At, int.Parse(l.Line["frame=".Length..], System.Globalization.CultureInfo.InvariantCulture)))
            .ToList();

    /// <summary>Gets the latest frame count ffmpeg reported.</summary>
    public int Frames => FrameReports() is { Count: > 0 } reports ? reports[^1].Frames : 0;

    /// <summary>Waits until ffmpeg reported at least <paramref name="frames"/> frames.</summary>
    public Task WaitForFramesAsync(int frames, TimeSpan timeout) =>
        Eventually.WaitAsync(() => Frames >= frames || HasExited, timeout, $"{frames} frames").ContinueWith(
            t =>
            {
                if (HasExited && Frames < frames)
                {
                    throw new InvalidOperationException($"ffmpeg exited ({ExitCode}) after {Frames} frames: {Stderr}");
                }

                t.GetAwaiter().GetResult();
            },
            TaskScheduler.Default);

    /// <summary>Waits for the process to exit by itself.</summary>
    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        await _process.WaitForExitAsync(cts.Token);
        await _pump;
        return _process.ExitCode;
    }

    /// <summary>Asks ffmpeg to stop ("q" on its input), so it flushes what it buffered, and waits for it to exit.</summary>
    public async Task QuitFfmpegAsync(TimeSpan timeout)
    {
        await _process.StandardInput.WriteAsync('q');
        await _process.StandardInput.FlushAsync();
        await WaitForExitAsync(timeout);
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
        }

        await _process.WaitForExitAsync();
        await _pump;
        _process.Dispose();
    }

    private static async Task Pump(StreamReader reader, Action<string> line)
    {
        while (await reader.ReadLineAsync() is { } text)
        {
            line(text);
        }
    }
}
