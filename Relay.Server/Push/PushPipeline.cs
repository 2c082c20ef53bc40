using System.Globalization;
using Relay.Media;
using Relay.Server.GStreamer;
using Relay.Server.Sources;

namespace Relay.Server.Push;

/// <summary>
/// The GStreamer pipeline of one push: the stream's access units go in through an appsrc per track, no video is
/// re-encoded. RTMP, for a stream with G.711 audio (an RTMP push without transcoding is <see cref="RtmpPush"/>, no
/// pipeline): <c>appsrc ! flvmux ! rtmp2sink</c>, the audio transcoded to AAC (FLV carries no G.711 that platforms
/// accept). RTSP: <c>appsrc ! parse ! rtspclientsink</c> (ANNOUNCE, SETUP with
/// mode=record, RECORD, interleaved over TCP), every codec as is. Units are pushed from one thread at a time.
/// </summary>
internal sealed class PushPipeline : IPushOutput
{
    private readonly Pipeline _pipeline;
    private readonly List<Element> _elements = [];
    private readonly Dictionary<int, AppSrc> _inputs = [];
    private readonly Dictionary<int, Hls.Fmp4Track> _lengthPrefixed = []; // video tracks sent as AVC samples (flvmux)
    private readonly HashSet<int> _tracks = [];
    private readonly Action<string> _onError;
    private readonly Uri _url;
    private TimeSpan? _origin;
    private int _failed;

    private PushPipeline(PushPlan plan, Uri url, Action<string> onError)
    {
        foreach (var (track, converter) in plan.LengthPrefixed)
        {
            _lengthPrefixed[track] = converter;
        }

        _onError = onError;
        _url = url;
        _pipeline = Pipeline.Parse(plan.Description!, message =>
        {
            if (message.Kind == BusMessageKind.Error && Interlocked.Exchange(ref _failed, 1) == 0)
            {
                _onError(SourceUri.Scrub($"{message.Source}: {message.Text}", url).TrimEnd('.'));
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
    public bool IsFailed => Volatile.Read(ref _failed) != 0;

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
        var lengthPrefixed = new Dictionary<int, Hls.Fmp4Track>();
        var leftOut = new List<string>();
        var video = tracks.FirstOrDefault(t => t.Kind == MediaKind.Video && t.Codec is Codec.H264 or Codec.H265);
        if (video is null)
        {
            return new PushPlan(null, inputs, lengthPrefixed, null, "the stream has no H.264 or H.265 video", leftOut);
        }

        if (rtmp && video.Codec == Codec.H265)
        {
            return new PushPlan(null, inputs, lengthPrefixed, null, "H.265 cannot be pushed over RTMP: classic FLV has no HEVC (push it over RTSP instead)", leftOut);
        }

        var audio = tracks.FirstOrDefault(t => t.Kind == MediaKind.Audio && t.Codec is Codec.Aac or Codec.Pcmu or Codec.Pcma);
        foreach (var other in tracks.Where(t => t != video && t != audio))
        {
            leftOut.Add($"track {other.Index} ({other.Kind} {other.Codec})");
        }

        if (audio is { Codec: Codec.Aac, AudioConfig.IsEmpty: true })
        {
            leftOut.Add($"track {audio.Index} (AAC without its configuration)");
            audio = null;
        }

        if (rtmp && audio is not { Codec: Codec.Pcmu or Codec.Pcma })
        {
            // Nothing to transcode: Relay writes the FLV bodies and publishes them itself (RtmpPush), no pipeline.
            return new PushPlan(null, inputs, lengthPrefixed, new FlvWriter(video, audio), null, leftOut);
        }

        var branches = new List<string>();
        if (rtmp)
        {
            // G.711 audio is transcoded to AAC, so flvmux muxes. The video goes in as AVC samples with their decoder
            // configuration, written by Relay from its own parameter sets (h264parse would parse every NAL unit again).
            var converter = Hls.Fmp4Track.Create(video.Index, video);
            lengthPrefixed[video.Index] = converter;
            inputs[video.Index] = $"video/x-h264,stream-format=avc,alignment=au,codec_data=(buffer){Convert.ToHexStringLower(converter.DecoderConfigurationRecord())}";
            // The caps filters tell the parser which of flvmux's request pads (audio, video) each input links to.
            branches.Add($"appsrc name=in{video.Index} ! video/x-h264,stream-format=avc,alignment=au ! mux.");
        }
        else
        {
            var (format, parse) = video.Codec == Codec.H265 ? ("video/x-h265", "h265parse") : ("video/x-h264", "h264parse");
            inputs[video.Index] = $"{format},stream-format=byte-stream,alignment=au";
            branches.Add($"appsrc name=in{video.Index} ! {parse} config-interval=-1 ! sink.");
        }

        if (audio is not null)
        {
            var rate = audio.ClockRate.ToString(CultureInfo.InvariantCulture);
            var channels = Math.Max(1, audio.Channels).ToString(CultureInfo.InvariantCulture);
            if (audio.Codec == Codec.Aac)
            {
                inputs[audio.Index] = $"audio/mpeg,mpegversion=4,stream-format=raw,rate={rate},channels={channels},codec_data=(buffer){Convert.ToHexStringLower(audio.AudioConfig.Span)}";
                branches.Add($"appsrc name=in{audio.Index} ! sink.");
            }
            else
            {
                var (caps, decode) = audio.Codec == Codec.Pcmu ? ("audio/x-mulaw", "mulawdec") : ("audio/x-alaw", "alawdec");
                inputs[audio.Index] = $"{caps},rate={rate},channels={channels}";
                branches.Add(rtmp
                    ? $"appsrc name=in{audio.Index} ! {decode} ! audioconvert ! audioresample ! audio/x-raw,rate=44100 ! avenc_aac ! mux."
                    : $"appsrc name=in{audio.Index} ! sink.");
            }
        }

        var sink = rtmp
            ? "flvmux name=mux streamable=true latency=100000000 ! rtmp2sink name=sink sync=false async=false chunk-size=4096"
            : "rtspclientsink name=sink protocols=tcp latency=0";
        return new PushPlan($"{sink} {string.Join(' ', branches)}", inputs, lengthPrefixed, null, null, leftOut);
    }

    /// <summary>Starts a planned pipeline.</summary>
    /// <exception cref="GstException">An element is missing or the pipeline cannot start.</exception>
    public static PushPipeline Start(PushPlan plan, Uri url, Action<string> onError) => new(plan, url, onError);

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

        var input = _inputs[unit.TrackIndex];

        if (!_lengthPrefixed.TryGetValue(unit.TrackIndex, out var converter))
        {
            return input.Push(unit.Data.Span, unit.Pts - origin, unit.Dts - origin, unit.IsKeyframe) is Interop.GstFlowReturn.Ok;
        }

        var sampleSize = converter.SampleSize(unit);
        var sample = System.Buffers.ArrayPool<byte>.Shared.Rent(sampleSize);
        try
        {
            converter.WriteSample(unit, sample);
            return input.Push(sample.AsSpan(0, sampleSize), unit.Pts - origin, unit.Dts - origin, unit.IsKeyframe) is Interop.GstFlowReturn.Ok;
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(sample);
        }
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
}

/// <summary>How a stream is pushed to one target: the pipeline, each input's caps, or why it cannot be.</summary>
/// <param name="Description">The pipeline description (null when refused or when <paramref name="Flv"/> is set).</param>
/// <param name="Inputs">The caps of each track's appsrc, by track index.</param>
/// <param name="LengthPrefixed">The video tracks Relay converts to length-prefixed samples itself, by track index.</param>
/// <param name="Flv">For an RTMP push without transcoding, what writes its FLV bodies (Relay publishes it, no pipeline); else null.</param>
/// <param name="Refusal">Why the stream cannot be pushed there, or null.</param>
/// <param name="LeftOut">The tracks that are not pushed, described.</param>
internal sealed record PushPlan(string? Description, Dictionary<int, string> Inputs, IReadOnlyDictionary<int, Hls.Fmp4Track> LengthPrefixed, FlvWriter? Flv, string? Refusal, List<string> LeftOut);
