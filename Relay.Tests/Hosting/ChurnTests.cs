using Relay.Tests.Fixtures;
using Xunit.Abstractions;

namespace Relay.Tests.Hosting;

/// <summary>
/// Hundreds of reader connects and disconnects and dozens of camera restarts against the relay process: its memory
/// settles back, and its threads and file descriptors return to their baseline.
/// </summary>
/// <remarks>In the serial collection: two hundred ffprobe processes and a restarting camera would starve the timing
/// tests of the parallel ones.</remarks>
[Collection(TimingCollection.Name)]
public sealed class ChurnTests(ITestOutputHelper output)
{
    private const int Readers = 200;
    private const int CameraRestarts = 20;
    private const int Parallel = 8;

    [Fact]
    public async Task Memory_threads_and_descriptors_return_to_baseline_after_churn()
    {
        await using var camera = await FakeCamera.StartAsync();
        await using var relay = await RelayProcess.StartAsync(
            output,
            $"--Relay:Streams:cam1:Source={camera.Url}",
            "--Relay:Streams:cam1:MaxRetryDelay=1s",
            "--Logging:LogLevel:Relay.Stream=Warning",
            "--Logging:LogLevel:Relay.Server=Warning");
        var url = relay.RtspUrl("cam1");

        // Warm up: everything the churn touches has run once (JIT, pools, plugin loading).
        await ChurnAsync(url, camera, readers: 40, restarts: 3);
        await SettleAsync(url);
        var rssBaseline = await LowestRssAsync(relay);
        var threadsBaseline = relay.ProcStatus("Threads");
        var fdsBaseline = relay.DescriptorsOtherThanCode;
        var before = relay.FileDescriptorTargets();

        var failures = await ChurnAsync(url, camera, Readers, CameraRestarts);
        await SettleAsync(url);
        try
        {
            await Eventually.WaitAsync(
                () => relay.ProcStatus("Threads") <= threadsBaseline + 2 && relay.DescriptorsOtherThanCode <= fdsBaseline + 2,
                TimeSpan.FromSeconds(60),
                "threads and descriptors back to baseline");
        }
        catch (TimeoutException)
        {
            // The assertions below report the figures.
        }

        var rss = await LowestRssAsync(relay);
        var threads = relay.ProcStatus("Threads");
        var fds = relay.DescriptorsOtherThanCode;
        foreach (var group in relay.FileDescriptorTargets().Except(before).GroupBy(t => t.Split(':')[0]))
        {
            output.WriteLine($"new fds: {group.Key} x{group.Count()}");
        }

        output.WriteLine($"churn: {Readers} readers ({failures} failed while the camera was restarting), {CameraRestarts} camera restarts");
        output.WriteLine($"RSS {rssBaseline / 1024.0:0.0} -> {rss / 1024.0:0.0} MB ({100.0 * (rss - rssBaseline) / rssBaseline:+0.0;-0.0} %), threads {threadsBaseline} -> {threads}, fds {fdsBaseline} -> {fds}");
        Assert.InRange(rss, 0, rssBaseline * 1.10);
        Assert.InRange(threads, 0, threadsBaseline + 2);
        Assert.InRange(fds, 0, fdsBaseline + 2);
        Assert.True(failures < Readers / 4, $"{failures} of {Readers} readers failed");
    }

    private static async Task<int> ChurnAsync(Uri url, FakeCamera camera, int readers, int restarts)
    {
        var failures = 0;
        var started = 0;
        var restartEvery = Math.Max(1, readers / Math.Max(1, restarts));
        var workers = Enumerable.Range(0, Parallel).Select(async _ =>
        {
            while (Interlocked.Increment(ref started) <= readers)
            {
                try
                {
                    await Clients.ProbeAsync(url, "tcp", TimeSpan.FromSeconds(20));
                }
                catch (Exception e) when (e is InvalidOperationException or TimeoutException)
                {
                    Interlocked.Increment(ref failures);
                }
            }
        }).ToList();
        var restarter = Task.Run(async () =>
        {
            for (var i = 0; i < restarts; i++)
            {
                await Eventually.WaitAsync(() => Volatile.Read(ref started) >= (i + 1) * restartEvery || Volatile.Read(ref started) >= readers, TimeSpan.FromSeconds(120), "readers to progress");
                await camera.PowerOffAsync();
                await camera.PowerOnAsync();
            }
        });
        await Task.WhenAll(workers);
        await restarter;
        return failures;
    }

    /// <summary>RSS moves with garbage collection; take the lowest of a few samples, the same way before and after.</summary>
    private static async Task<long> LowestRssAsync(RelayProcess relay)
    {
        var lowest = long.MaxValue;
        for (var i = 0; i < 4; i++)
        {
            lowest = Math.Min(lowest, relay.ProcStatus("VmRSS"));
            await Task.Delay(TimeSpan.FromMilliseconds(500)); // sampling interval, not synchronisation
        }

        return lowest;
    }

    private static async Task SettleAsync(Uri url)
    {
        // The camera is back and the stream serves readers again.
        await Clients.ProbeAsync(url, "tcp", TimeSpan.FromSeconds(30));
    }
}
