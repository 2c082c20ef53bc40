using System.Globalization;
using Relay.Media;
using Relay.Server.GStreamer;
using Relay.Server.Sources;

namespace Relay.Server.Mjpeg;

/// <summary>
/// A GStreamer pipeline that turns H.264/H.265 access units into JPEG pictures of a given size:
/// <c>appsrc ! parse ! avdec ! [videorate] ! videoscale ! jpegenc ! appsink</c>. Units are pushed from any thread;
/// pictures arrive on the pipeline's streaming thread. The decoder runs one thread so a picture comes out as soon
/// as its unit went in (frame threading would hold pictures back).
/// </summary>
internal sealed class JpegPipeline : IAppSinkHandler, IDisposable
{
    private readonly Pipeline _pipeline;
    private readonly Element _source;
    private readonly Element _sink;
    private readonly AppSrc _appsrc;
    private readonly Action<byte[], TimeSpan> _onPicture;
    private readonly Action<string> _onError;
    private int _failed;
    private TimeSpan? _origin; // the first unit's time: buffers start at zero, as videorate's output clock does

    private JpegPipeline(string description, Action<byte[], TimeSpan> onPicture, Action<string> onError, string caps)
    {
        _onPicture = onPicture;
        _onError = onError;
        _pipeline = Pipeline.Parse(description, OnBusMessage);
        try
        {
            _source = _pipeline.GetByName("src") ?? throw new GstException("JPEG pipeline has no appsrc");
            _sink = _pipeline.GetByName("sink") ?? throw new GstException("JPEG pipeline has no appsink");
            _appsrc = new AppSrc(_source);
            _appsrc.ConfigureLive(caps);
            AppSink.Attach(_sink, this);
            _pipeline.SetState(Interop.GstState.Playing);
        }
        catch
        {
            _source?.Dispose();
            _sink?.Dispose();
            _pipeline.Dispose();
            throw;
        }
    }

    /// <summary>Gets a value indicating whether the pipeline reported an error (it produces nothing more).</summary>
    public bool IsFailed => Volatile.Read(ref _failed) != 0;

    /// <summary>Gets the bytes waiting in the pipeline's input queue.</summary>
    public long QueuedBytes => _appsrc.QueuedBytes;

    /// <summary>Tells whether Relay can decode pictures of <paramref name="track"/>.</summary>
    public static bool CanDecode(TrackInfo track) => track.Kind == MediaKind.Video && track.Codec is Codec.H264 or Codec.H265;

    /// <summary>Starts a pipeline for <paramref name="track"/>.</summary>
    /// <param name="track">The video track (H.264 or H.265).</param>
    /// <param name="width">The picture width.</param>
    /// <param name="height">The picture height.</param>
    /// <param name="maxFps">At most this many pictures a second (by timestamp), or null for every decoded frame.</param>
    /// <param name="quality">JPEG quality, 1–100.</param>
    /// <param name="onPicture">Receives each picture and its timestamp, on a streaming thread; must not block.</param>
    /// <param name="onError">Receives the reason when the pipeline fails.</param>
    /// <exception cref="GstException">An element is missing or the pipeline cannot start.</exception>
    public static JpegPipeline Start(TrackInfo track, int width, int height, int? maxFps, int quality, Action<byte[], TimeSpan> onPicture, Action<string> onError)
    {
        var (caps, parse, decode) = track.Codec == Codec.H265
            ? ("video/x-h265,stream-format=byte-stream,alignment=au", "h265parse", "avdec_h265")
            : ("video/x-h264,stream-format=byte-stream,alignment=au", "h264parse", "avdec_h264");
        var rate = maxFps is { } fps ? string.Create(CultureInfo.InvariantCulture, $"videorate drop-only=true max-rate={fps} ! ") : string.Empty;
        var description = string.Create(
            CultureInfo.InvariantCulture,
            $"appsrc name=src ! {parse} ! {decode} max-threads=1 output-corrupt=false ! {rate}videoscale ! videoconvert ! video/x-raw,format=I420,width={width},height={height},pixel-aspect-ratio=1/1 ! jpegenc quality={quality} ! appsink name=sink");
        return new JpegPipeline(description, onPicture, onError, caps);
    }

    /// <summary>
    /// Tells whether <paramref name="keyframe"/> of <paramref name="track"/> decodes to a whole picture alone. An H.264
    /// recovery point (an intra-refresh camera's keyframe) does not: the frames after it complete the picture, and
    /// the decoder (output-corrupt=false) gives no picture before that.
    /// </summary>
    public static bool DecodesAlone(TrackInfo track, AccessUnit keyframe) =>
        track.Codec != Codec.H264 || TrackParameters.IsH264Idr(keyframe.Data.Span);

    /// <summary>Gets the picture size for <paramref name="width"/> (null: the track's own) keeping the track's aspect ratio, never upscaled, even numbers.</summary>
    public static (int Width, int Height) Size(TrackInfo track, int? width)
    {
        var sourceWidth = track.Width ?? 640;
        var sourceHeight = track.Height ?? 360;
        var w = Math.Min(width ?? sourceWidth, sourceWidth);
        var h = (int)Math.Round(w * (double)sourceHeight / sourceWidth);
        return (Math.Max(2, w & ~1), Math.Max(2, h & ~1));
    }

    /// <summary>Pushes one access unit (from one thread at a time).</summary>
    /// <returns>False when the pipeline no longer accepts input.</returns>
    public bool Push(AccessUnit unit)
    {
        if (IsFailed)
        {
            return false;
        }

        var origin = _origin ??= unit.Dts;
        return _appsrc.Push(unit.Data.Span, unit.Pts - origin, unit.Dts - origin, unit.IsKeyframe) == Interop.GstFlowReturn.Ok;
    }

    /// <summary>Ends the input: what is queued is decoded, then the pipeline ends.</summary>
    public void EndOfStream() => _appsrc.EndOfStream();

    /// <summary>Stops the pipeline (joins its threads; never call from a streaming thread).</summary>
    public void Dispose()
    {
        _pipeline.Stop();
        _source.Dispose();
        _sink.Dispose();
        _pipeline.Dispose();
    }

    /// <inheritdoc />
    void IAppSinkHandler.OnSample(in Sample sample)
    {
        var picture = GC.AllocateUninitializedArray<byte>(sample.Size);
        var copied = sample.CopyTo(picture);
        _onPicture(copied == picture.Length ? picture : picture[..copied], (sample.Pts ?? TimeSpan.Zero) + (_origin ?? TimeSpan.Zero));
    }

    /// <inheritdoc />
    void IAppSinkHandler.OnEndOfStream()
    {
    }

    private void OnBusMessage(BusMessage message)
    {
        if (message.Kind == BusMessageKind.Error && Interlocked.Exchange(ref _failed, 1) == 0)
        {
            _onError($"{message.Source}: {message.Text}");
        }
    }
}
