using System.Globalization;
using Relay.Media;
using Relay.Server.GStreamer;
using Relay.Server.Sources;

namespace Relay.Server.Push;

/// <summary>
/// The GStreamer pipeline of an RTSP push: the stream's access units go in through an appsrc per track,
/// <c>appsrc ! parse ! rtspclientsink</c> (ANNOUNCE, SETUP with mode=record, RECORD, interleaved over TCP), every
/// codec as is. Units are pushed from one thread at a time. (An RTMP push is Relay's own, <see cref="RtmpPush"/>.)
/// </summary>
internal sealed class PushPipeline : IPushOutput
{
    private readonly Pipeline _pipeline;
    private readonly List<Element> _elements = [];
    private readonly Dictionary<int, AppSrc> _inputs = [];
    private readonly HashSet<int> _tracks = [];
    private readonly Action<string, bool> _onError;
    private readonly Uri _url;
    private TimeSpan? _origin;
    private string? _error; // set once, by the first error

    private PushPipeline(PushPlan plan, Uri url, Action<string, bool> onError)
    {
        _onError = onError;
        _url = url;
        _pipeline = Pipeline.Parse(plan.Description!, message =>
        {
            if (message.Kind == BusMessageKind.Error
                && SourceUri.Scrub($"{message.Source}: {message.Text}", url).TrimEnd('.') is var error
                && Interlocked.CompareExchange(ref _error, error, null) is null)
            {
                _onError(error, IsAuthFailure(error));
            }
        });
        try
        {
            var sink = _pipeline.GetByName("sink") ?? throw new GstException("push pipeline has no sink");
            _elements.Add(sink);
            var (location, user, password) = SourceUri.SplitCredentials(url);
            sink.Set("location", location);
            if (url.Scheme is "rtsp" or "rtsps")
            {
                if (user is not null)
                {
                    sink.Set("user-id", user);
                }

                if (password is not null)
                {
                    sink.Set("user-pw", password);
                }
            }

            foreach (var (track, caps) in plan.Inputs)
            {
                var element = _pipeline.GetByName($"in{track}") ?? throw new GstException($"push pipeline has no input for track {track}");
                _elements.Add(element);
                var appsrc = new AppSrc(element);
                appsrc.ConfigureLive(caps);
                _inputs[track] = appsrc;
                _tracks.Add(track);
            }

            _pipeline.SetState(Interop.GstState.Playing);
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    /// <summary>Gets a value indicating whether the pipeline failed (it pushes nothing more).</summary>
    public bool IsFailed => Volatile.Read(ref _error) is not null;

    /// <inheritdoc />
    public (string Message, bool Refused)? Failure => Volatile.Read(ref _error) is { } error ? (error, IsAuthFailure(error)) : null;

    /// <summary>Gets the bytes waiting in the inputs.</summary>
    public long QueuedBytes => _inputs.Values.Sum(i => i.QueuedBytes);

    /// <summary>Gets the tracks that are pushed.</summary>
    public IReadOnlySet<int> Tracks => _tracks;

    /// <summary>
    /// Plans a push of <paramref name="tracks"/> to <paramref name="url"/>: the pipeline description and each input's caps,
    /// or why it cannot be pushed, and the tracks left out (with why).
    /// </summary>
    public static PushPlan Plan(Uri url, IReadOnlyList<TrackInfo> tracks)
    {
        var rtmp = url.Scheme is "rtmp" or "rtmps";
        var inputs = new Dictionary<int, string>();
        var leftOut = new List<string>();
        var video = tracks.FirstOrDefault(t => t.Kind == MediaKind.Video && t.Codec is Codec.H264 or Codec.H265);
        if (video is null)
        {
            return new PushPlan(null, inputs, null, null, "the stream has no H.264 or H.265 video", leftOut);
        }

        if (rtmp && video.Codec == Codec.H265)
        {
            return new PushPlan(null, inputs, null, null, "H.265 cannot be pushed over RTMP: classic FLV has no HEVC (push it over RTSP instead)", leftOut);
        }

        // Opus goes over RTMP only (transcoded); an RTSP receiver gets AAC or G.711.
        var audio = tracks.FirstOrDefault(t => t.Kind == MediaKind.Audio && (t.Codec is Codec.Aac or Codec.Pcmu or Codec.Pcma || (rtmp && t.Codec == Codec.Opus)));
        foreach (var other in tracks.Where(t => t != video && t != audio))
        {
            leftOut.Add($"track {other.Index} ({other.Kind} {other.Codec})");
        }

        if (audio is { Codec: Codec.Aac, AudioConfig.IsEmpty: true })
        {
            leftOut.Add($"track {audio.Index} (AAC without its configuration)");
            audio = null;
        }

        if (rtmp)
        {
            // Relay writes the FLV bodies and publishes them itself (RtmpPush); only audio FLV cannot carry is
            // transcoded to AAC by GStreamer.
            var transcode = audio is not null && AacTranscoder.Transcodes(audio) ? audio : null;
            var flv = new FlvWriter(video, transcode is null ? audio : AacTranscoder.Output(transcode));
            return new PushPlan(null, inputs, flv, transcode, null, leftOut);
        }

        var (format, parse) = video.Codec == Codec.H265 ? ("video/x-h265", "h265parse") : ("video/x-h264", "h264parse");
        inputs[video.Index] = $"{format},stream-format=byte-stream,alignment=au";
        var branches = new List<string> { $"appsrc name=in{video.Index} ! {parse} config-interval=-1 ! sink." };
        if (audio is not null)
        {
            var rate = audio.ClockRate.ToString(CultureInfo.InvariantCulture);
            var channels = Math.Max(1, audio.Channels).ToString(CultureInfo.InvariantCulture);
            inputs[audio.Index] = audio.Codec switch
            {
                Codec.Aac => $"audio/mpeg,mpegversion=4,stream-format=raw,rate={rate},channels={channels},codec_data=(buffer){Convert.ToHexStringLower(audio.AudioConfig.Span)}",
                Codec.Pcmu => $"audio/x-mulaw,rate={rate},channels={channels}",
                _ => $"audio/x-alaw,rate={rate},channels={channels}",
            };
            branches.Add($"appsrc name=in{audio.Index} ! sink.");
        }

        return new PushPlan($"rtspclientsink name=sink protocols=tcp latency=0 {string.Join(' ', branches)}", inputs, null, null, null, leftOut);
    }

    /// <summary>Starts a planned pipeline.</summary>
    /// <exception cref="GstException">An element is missing or the pipeline cannot start.</exception>
    /// <param name="onError">Called once when the pipeline fails: the scrubbed message, and whether the receiver refused the credentials.</param>
    public static PushPipeline Start(PushPlan plan, Uri url, Action<string, bool> onError) => new(plan, url, onError);

    /// <inheritdoc />
    public ValueTask<bool> PushAsync(AccessUnit unit, CancellationToken cancellationToken) => ValueTask.FromResult(Push(unit));

    /// <inheritdoc />
    public ValueTask DisposeAsync()
    {
        Dispose();
        return ValueTask.CompletedTask;
    }

    /// <summary>Pushes one unit of a pushed track (others are ignored).</summary>
    /// <returns>False when the pipeline no longer accepts input.</returns>
    public bool Push(AccessUnit unit)
    {
        if (IsFailed)
        {
            return false;
        }

        if (!_tracks.Contains(unit.TrackIndex))
        {
            return true;
        }

        var origin = _origin ??= unit.Dts;
        if (unit.Dts < origin)
        {
            // Audio captured just before the first keyframe arrives after it: its time would be negative, and clamping it
            // to zero would give several units the same timestamp (a non-monotonic stream for the receiver). Skip it.
            return true;
        }

        return _inputs[unit.TrackIndex].Push(unit.Data.Span, unit.Pts - origin, unit.Dts - origin, unit.IsKeyframe) is Interop.GstFlowReturn.Ok;
    }

    /// <summary>Stops the pipeline (joins its threads; never call from a streaming thread).</summary>
    private void Dispose()
    {
        _pipeline.Stop();
        foreach (var element in _elements)
        {
            element.Dispose();
        }

        _pipeline.Dispose();
    }

    /// <inheritdoc />
    public override string ToString() => SourceUri.Redact(_url);

    /// <summary>Whether a GStreamer error says the destination refused the credentials (it has no error code for that).</summary>
    private static bool IsAuthFailure(string message) =>
        message.Contains("401", StringComparison.Ordinal) || message.Contains("403", StringComparison.Ordinal)
        || message.Contains("unauthorized", StringComparison.OrdinalIgnoreCase) || message.Contains("authenticat", StringComparison.OrdinalIgnoreCase)
        || message.Contains("forbidden", StringComparison.OrdinalIgnoreCase) || message.Contains("rejected", StringComparison.OrdinalIgnoreCase);
}

/// <summary>How a stream is pushed to one target, or why it cannot be.</summary>
/// <param name="Description">The RTSP push pipeline's description (null for RTMP, or when refused).</param>
/// <param name="Inputs">The caps of each track's appsrc in that pipeline, by track index.</param>
/// <param name="Flv">For RTMP, what writes its FLV bodies (Relay publishes them itself); else null.</param>
/// <param name="Transcode">For RTMP, the audio track transcoded to AAC (G.711 or Opus), or null.</param>
/// <param name="Refusal">Why the stream cannot be pushed there, or null.</param>
/// <param name="LeftOut">The tracks that are not pushed, described.</param>
internal sealed record PushPlan(string? Description, Dictionary<int, string> Inputs, FlvWriter? Flv, TrackInfo? Transcode, string? Refusal, List<string> LeftOut);
