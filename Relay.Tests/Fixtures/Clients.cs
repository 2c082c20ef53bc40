using System.Buffers.Binary;
using System.Globalization;
using System.Text.RegularExpressions;

namespace Relay.Tests.Fixtures;

/// <summary>The real RTSP clients the tests use: ffprobe, ffmpeg and gst-launch-1.0.</summary>
public static partial class Clients
{
    /// <summary>
    /// Runs ffprobe and returns each stream's fields (codec_name, codec_tag_string, width, height, r_frame_rate, sample_rate, …).
    /// <paramref name="transport"/> is the RTSP transport (null for HTTP); <paramref name="format"/> forces a demuxer.
    /// </summary>
    public static async Task<List<Dictionary<string, string>>> ProbeAsync(Uri url, string? transport, TimeSpan? timeout = null, string? format = null)
    {
        string[] options = [
            "-v", "error",
            .. transport is null ? Array.Empty<string>() : ["-rtsp_transport", transport],
            .. format is null ? Array.Empty<string>() : ["-f", format],
            "-show_entries", "stream=codec_type,codec_name,codec_tag_string,width,height,r_frame_rate,sample_rate,channels", "-of", "default=nw=0", url.ToString()];
        var result = await ExternalProcess.RunAsync("ffprobe", options, timeout ?? TimeSpan.FromSeconds(30));
        if (result.ExitCode != 0)
        {
            throw new InvalidOperationException($"ffprobe failed ({result.ExitCode}): {result.Stderr}");
        }

        var streams = new List<Dictionary<string, string>>();
        Dictionary<string, string>? current = null;
        var inProgram = false; // HLS inputs list their streams twice: inside a program, and on their own
        foreach (var line in result.Stdout.Split('\n', StringSplitOptions.TrimEntries))
        {
            if (line is "[PROGRAM]" or "[/PROGRAM]")
            {
                inProgram = line == "[PROGRAM]";
                current = null;
            }
            else if (inProgram)
            {
                continue;
            }
            else if (line == "[STREAM]")
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

    /// <summary>
    /// Captures the first <paramref name="packets"/> video RTP packets a new reader receives (<c>rtspsrc ! identity
    /// eos-after ! rtpstreampay ! filesink</c>) and returns the NAL unit types they start, a fragmented NAL unit
    /// counted once: a reader that starts on a keyframe sees 7, 8, 5.
    /// </summary>
    public static async Task<List<int>> FirstVideoNalTypesAsync(Uri url, string transport, int packets, int count = 3) =>
        NalTypes(await FirstVideoPacketsAsync(url, transport, packets), count);

    /// <summary>
    /// Captures the first <paramref name="packets"/> video RTP packets a new reader receives (<c>rtspsrc ! identity
    /// eos-after ! rtpstreampay ! filesink</c>), each as RTP it arrived.
    /// </summary>
    public static async Task<List<byte[]>> FirstVideoPacketsAsync(Uri url, string transport, int packets)
    {
        var file = Path.GetTempFileName();
        try
        {
            var result = await ExternalProcess.RunAsync(
                "gst-launch-1.0",
                ["-q", "rtspsrc", $"location={url}", $"protocols={transport}", "!", "application/x-rtp,media=video", "!", "identity", $"eos-after={packets}", "!", "rtpstreampay", "!", "filesink", $"location={file}"],
                TimeSpan.FromSeconds(30));
            if (!GstreamerSucceeded(result.ExitCode, result.Stderr))
            {
                throw new InvalidOperationException($"gst-launch failed ({result.ExitCode}): {result.Stderr}");
            }

            var stream = await File.ReadAllBytesAsync(file);
            var captured = new List<byte[]>();
            for (var offset = 0; offset + 2 <= stream.Length;)
            {
                var length = BinaryPrimitives.ReadUInt16BigEndian(stream.AsSpan(offset));
                captured.Add(stream.AsSpan(offset + 2, length).ToArray());
                offset += 2 + length;
            }

            return captured;
        }
        finally
        {
            File.Delete(file);
        }
    }

    /// <summary>
    /// Gets whether a gst-launch rtspsrc run succeeded. GStreamer 1.22's rtspsrc races its own shutdown over UDP: the
    /// CLOSE command flushes the RTSP connection while the PAUSE before it is still being written, so the PAUSE
    /// "fails" with "Received end-of-file" and gst-launch exits 1, although the run was complete (the sink had its
    /// EOS) and the TEARDOWN that follows on the same connection is answered. A run whose only errors are that race
    /// counts as success; any other error does not.
    /// </summary>
    public static bool GstreamerSucceeded(int exitCode, string stderr)
    {
        if (exitCode == 0)
        {
            return true;
        }

        var errors = GstError().Count(stderr);
        return errors > 0 && errors == RtspsrcShutdownRace().Count(stderr);
    }

    /// <summary>Gets the first H.264 NAL unit types that RTP packets start.</summary>
    public static List<int> NalTypes(List<byte[]> packets, int count)
    {
        var types = new List<int>();
        foreach (var packet in packets)
        {
            if (types.Count == count)
            {
                break;
            }

            var payload = packet[(12 + (4 * (packet[0] & 0x0F)))..];
            var type = payload[0] & 0x1F;
            if (type == 28)
            {
                if ((payload[1] & 0x80) == 0)
                {
                    continue; // not the first fragment
                }

                type = payload[1] & 0x1F;
            }

            types.Add(type);
        }

        return types;
    }

    [GeneratedRegex(@"^ERROR: from element ", RegexOptions.Multiline)]
    private static partial Regex GstError();

    [GeneratedRegex(@"gstrtspsrc\.c\(\d+\): gst_rtspsrc_(?:try_send|pause) \(\): [^\n]*\nCould not send message\. \(Received end-of-file\)")]
    private static partial Regex RtspsrcShutdownRace();

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
