using System.Globalization;
using System.Text.RegularExpressions;

namespace Relay.Tests.Fixtures;

/// <summary>The real RTSP clients the tests use: ffprobe, ffmpeg and gst-launch-1.0.</summary>
public static partial class Clients
{
    /// <summary>Runs ffprobe and returns each stream's fields (codec_name, width, height, r_frame_rate, sample_rate, …).</summary>
    public static async Task<List<Dictionary<string, string>>> ProbeAsync(Uri url, string transport, TimeSpan? timeout = null)
    {
        var result = await ExternalProcess.RunAsync(
            "ffprobe",
            ["-v", "error", "-rtsp_transport", transport, "-show_entries", "stream=codec_type,codec_name,width,height,r_frame_rate,sample_rate,channels", "-of", "default=nw=0", url.ToString()],
            timeout ?? TimeSpan.FromSeconds(30));
        if (result.ExitCode != 0)
        {
            throw new InvalidOperationException($"ffprobe failed ({result.ExitCode}): {result.Stderr}");
        }

        var streams = new List<Dictionary<string, string>>();
        Dictionary<string, string>? current = null;
        foreach (var line in result.Stdout.Split('\n', StringSplitOptions.TrimEntries))
        {
            if (line == "[STREAM]")
            {
                current = [];
                streams.Add(current);
            }
            else if (current is not null && line.Contains('=', StringComparison.Ordinal))
            {
                var eq = line.IndexOf('=', StringComparison.Ordinal);
                current[line[..eq]] = line[(eq + 1)..];
            }
        }

        return streams;
    }

    /// <summary>Reads <paramref name="seconds"/> of media with <c>ffmpeg -c copy -f null</c>.</summary>
    public static async Task<FfmpegRead> ReadWithFfmpegAsync(Uri url, string transport, double seconds, CancellationToken cancellationToken = default)
    {
        var result = await ExternalProcess.RunAsync(
            "ffmpeg",
            ["-hide_banner", "-nostats", "-loglevel", "level+info", "-rtsp_transport", transport, "-i", url.ToString(), "-t", seconds.ToString(CultureInfo.InvariantCulture), "-map", "0", "-c", "copy", "-f", "null", "-"],
            TimeSpan.FromSeconds(seconds + 30),
            cancellationToken: cancellationToken);
        return new FfmpegRead(result);
    }

    /// <summary>Reads <paramref name="buffers"/> H.264 access units with <c>rtspsrc ! rtph264depay ! h264parse ! fakesink</c>.</summary>
    public static Task<ProcessResult> ReadWithGstreamerAsync(Uri url, string transport, int buffers) =>
        ExternalProcess.RunAsync(
            "gst-launch-1.0",
            ["-q", "rtspsrc", $"location={url}", $"protocols={transport}", "latency=200", "!", "rtph264depay", "!", "h264parse", "!", "fakesink", $"num-buffers={buffers}"],
            TimeSpan.FromSeconds(30 + (buffers / 10)));

    /// <summary>Sends one DESCRIBE and times the answer.</summary>
    public static async Task<(int Status, TimeSpan Elapsed)> DescribeStatusAsync(int port, Uri url)
    {
        await using var client = await RawRtspClient.ConnectAsync(port);
        var started = DateTime.UtcNow;
        var response = await client.RequestAsync("DESCRIBE", url.ToString(), 1);
        return (response.Status, DateTime.UtcNow - started);
    }

    /// <summary>What ffmpeg reported.</summary>
    public sealed partial class FfmpegRead(ProcessResult result)
    {
        public ProcessResult Result { get; } = result;

        public int ExitCode => Result.ExitCode;

        /// <summary>Gets the lines ffmpeg logged at warning level or above.</summary>
        public IReadOnlyList<string> Problems => Result.Stderr.Split('\n').Where(l => l.Contains("[warning]", StringComparison.Ordinal) || l.Contains("[error]", StringComparison.Ordinal) || l.Contains("[fatal]", StringComparison.Ordinal)).ToList();

        /// <summary>Gets the video frame count from ffmpeg's final progress line.</summary>
        public int Frames
        {
            get
            {
                var matches = FrameCount().Matches(Result.Stderr);
                return matches.Count == 0 ? 0 : int.Parse(matches[^1].Groups[1].Value, CultureInfo.InvariantCulture);
            }
        }

        [GeneratedRegex(@"frame=\s*(\d+)")]
        private static partial Regex FrameCount();
    }
}
