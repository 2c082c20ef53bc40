using System.Collections.Concurrent;
using System.Globalization;
using Relay.Media;
using Relay.Server.GStreamer;

namespace Relay.Server.Push;

/// <summary>
/// Transcodes a camera's G.711 or Opus audio to AAC-LC at 44.1 kHz for an RTMP push (live platforms take only AAC in
/// FLV): <c>appsrc ! decoder ! audioconvert ! audioresample ! avenc_aac ! appsink</c>. The AAC frames come back as
/// access units of the same track, on the stream's timeline, for the pusher to take between video frames; only the
/// audio goes through GStreamer.
/// </summary>
internal sealed class AacTranscoder : IAppSinkHandler, IDisposable
{
    /// <summary>The sample rate of the AAC that is pushed (FLV's highest).</summary>
    public const int Rate = 44100;

    /// <summary>The most AAC frames waiting for the pusher (about 2.3 s) before the oldest are dropped.</summary>
    private const int MaxWaiting = 100;

    private readonly Pipeline _pipeline;
    private readonly List<Element> _elements = [];
    private readonly AppSrc _input;
    private readonly ConcurrentQueue<AccessUnit> _output = new();
    private readonly string _expectedConfig;
    private readonly Action<string> _onError;
    private int _failed;
    private int _checkedConfig;

    private AacTranscoder(TrackInfo source, TrackInfo output, Action<string> onError)
    {
        Track = source.Index;
        _onError = onError;
        _expectedConfig = Convert.ToHexStringLower(output.AudioConfig.Span);
        var channels = output.Channels.ToString(CultureInfo.InvariantCulture);
        var rate = source.ClockRate.ToString(CultureInfo.InvariantCulture);
        var (caps, decoder) = source.Codec switch
        {
            Codec.Pcmu => ($"audio/x-mulaw,rate={rate},channels={Math.Max(1, source.Channels)}", "mulawdec"),
            Codec.Pcma => ($"audio/x-alaw,rate={rate},channels={Math.Max(1, source.Channels)}", "alawdec"),
            Codec.Opus => ($"audio/x-opus,channel-mapping-family=0,rate=48000,channels={Math.Max(1, source.Channels)}", "opusdec"),
            _ => throw new ArgumentException($"{source.Codec} audio is not transcoded.", nameof(source)),
        };
        _pipeline = Pipeline.Parse(
            $"appsrc name=in ! {decoder} ! audioconvert ! audioresample ! audio/x-raw,rate={Rate},channels={channels} ! avenc_aac ! audio/mpeg,mpegversion=4,stream-format=raw ! appsink name=out",
            message =>
            {
                if (message.Kind == BusMessageKind.Error)
                {
                    Fail($"the audio transcoder failed ({message.Source}: {message.Text})");
                }
            });
        try
        {
            var input = _pipeline.GetByName("in") ?? throw new GstException("the transcoder has no input");
            _elements.Add(input);
            _input = new AppSrc(input);
            _input.ConfigureLive(caps);
            var sink = _pipeline.GetByName("out") ?? throw new GstException("the transcoder has no output");
            _elements.Add(sink);
            AppSink.Attach(sink, this);
            _pipeline.SetState(Interop.GstState.Playing);
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    /// <summary>Gets the index of the audio track transcoded (the AAC frames keep it).</summary>
    public int Track { get; }

    /// <summary>Gets the AAC frames dropped because the pusher did not take them.</summary>
    public long Dropped { get; private set; }

    /// <summary>Whether the transcoder takes <paramref name="track"/>.</summary>
    public static bool Transcodes(TrackInfo track) => track.Codec is Codec.Pcmu or Codec.Pcma or Codec.Opus;

    /// <summary>Describes the AAC track that <paramref name="source"/> becomes: AAC-LC, 44.1 kHz, mono or stereo.</summary>
    public static TrackInfo Output(TrackInfo source)
    {
        var channels = Math.Clamp(source.Channels, 1, 2);
        // AudioSpecificConfig: object type 2 (AAC-LC), sampling frequency index 4 (44.1 kHz), the channel configuration.
        byte[] config = [(2 << 3) | (4 >> 1), (byte)(((4 & 1) << 7) | (channels << 3))];
        return source with { Codec = Codec.Aac, ClockRate = Rate, Channels = channels, AudioConfig = config };
    }

    /// <summary>Starts a transcoder for <paramref name="source"/>.</summary>
    /// <param name="onError">Called once when the transcoder fails.</param>
    /// <exception cref="GstException">An element is missing or the pipeline cannot start.</exception>
    public static AacTranscoder Start(TrackInfo source, Action<string> onError) => new(source, Output(source), onError);

    /// <summary>Takes one unit of the source track.</summary>
    /// <returns>False when the transcoder failed.</returns>
    public bool Push(AccessUnit unit) =>
        Volatile.Read(ref _failed) == 0 && _input.Push(unit.Data.Span, unit.Pts, unit.Dts, isKeyframe: true) is Interop.GstFlowReturn.Ok;

    /// <summary>Takes the next AAC frame, if one is ready; the caller releases it.</summary>
    public bool TryTake(out AccessUnit frame) => _output.TryDequeue(out frame!);

    /// <inheritdoc />
    void IAppSinkHandler.OnSample(in Sample sample)
    {
        if (Interlocked.Exchange(ref _checkedConfig, 1) == 0 && !sample.GetCapsString().Contains($"codec_data=(buffer){_expectedConfig}", StringComparison.Ordinal))
        {
            // The FLV sequence header was written for AAC-LC at 44.1 kHz before the first frame: it must be what came.
            Fail($"the AAC encoder did not produce AAC-LC at {Rate} Hz ({sample.GetCapsString()})");
            return;
        }

        if (sample.Pts is not { } pts || Volatile.Read(ref _failed) != 0)
        {
            return;
        }

        var frame = AccessUnit.Rent(Track, sample.Size, isKeyframe: true);
        sample.CopyTo(frame.GetWritableSpan());
        frame.Pts = frame.Dts = pts;
        _output.Enqueue(frame);
        while (_output.Count > MaxWaiting && _output.TryDequeue(out var old))
        {
            old.Release();
            Dropped++;
        }
    }

    /// <inheritdoc />
    void IAppSinkHandler.OnEndOfStream()
    {
    }

    /// <summary>Stops the pipeline (joins its threads; never call from a streaming thread) and drops what it held.</summary>
    public void Dispose()
    {
        Interlocked.Exchange(ref _failed, 1);
        _pipeline.Stop();
        foreach (var element in _elements)
        {
            element.Dispose();
        }

        _pipeline.Dispose();
        while (_output.TryDequeue(out var frame))
        {
            frame.Release();
        }
    }

    private void Fail(string message)
    {
        if (Interlocked.Exchange(ref _failed, 1) == 0)
        {
            _onError(message);
        }
    }
}
