using System.Globalization;
using Microsoft.Extensions.Logging;
using Relay.Configuration;
using Relay.Media;
using Relay.Server.GStreamer;

namespace Relay.Server.Sources;

/// <summary>
/// A built-in camera for demos and tests: <c>videotestsrc</c> encoded live with x264 (or x265), 4:2:0 so every
/// player decodes it, optionally with a test tone. It goes through the same session, parser settings and sink as
/// a real camera.
/// </summary>
internal sealed class TestPatternSource(StreamConfig config, TimeProvider time, ILogger logger) : ISource
{
    /// <summary>
    /// x264enc and x265enc shift every timestamp by 1000 hours (GstVideoEncoder min-pts, room for DTS before PTS)
    /// while the test tone starts at 0; taking the shift off the video keeps the two tracks on one clock.
    /// </summary>
    internal static readonly TimeSpan EncoderShift = TimeSpan.FromHours(1000);

    private readonly TestPatternOptions _options = TestPatternOptions.Parse(config.Source).Options;

    /// <inheritdoc />
    public string DisplayName => config.Source.OriginalString;

    /// <summary>Builds the launch description (also used by tests to check what is run).</summary>
    public static string Describe(TestPatternOptions o)
    {
        var fps = o.Fps.ToString(CultureInfo.InvariantCulture);
        var video = o.VideoCodec == Codec.H265
            ? $"x265enc tune=zerolatency speed-preset=ultrafast bitrate={o.Bitrate} key-int-max={o.Gop} ! h265parse config-interval=-1 ! video/x-h265,stream-format=byte-stream,alignment=au"
            : $"x264enc tune=zerolatency speed-preset=ultrafast bitrate={o.Bitrate} key-int-max={o.Gop} ! h264parse config-interval=-1 ! video/x-h264,stream-format=byte-stream,alignment=au";
        var description =
            $"videotestsrc is-live=true pattern={o.Pattern} ! video/x-raw,format=I420,width={o.Width},height={o.Height},framerate={fps}/1 ! " +
            $"{video} ! appsink name=sink0";
        var audio = o.AudioCodec switch
        {
            Codec.Aac => "audiotestsrc is-live=true wave=sine freq=440 volume=0.2 samplesperbuffer=1024 ! audioconvert ! audioresample ! audio/x-raw,rate=48000,channels=1 ! voaacenc bitrate=64000 ! aacparse ! audio/mpeg,mpegversion=4,stream-format=raw",
            Codec.Pcmu => "audiotestsrc is-live=true wave=sine freq=440 volume=0.2 samplesperbuffer=160 ! audioconvert ! audio/x-raw,rate=8000,channels=1 ! mulawenc",
            Codec.Pcma => "audiotestsrc is-live=true wave=sine freq=440 volume=0.2 samplesperbuffer=160 ! audioconvert ! audio/x-raw,rate=8000,channels=1 ! alawenc",
            Codec.Opus => "audiotestsrc is-live=true wave=sine freq=440 volume=0.2 samplesperbuffer=960 ! audioconvert ! audioresample ! audio/x-raw,rate=48000,channels=2 ! opusenc frame-size=20",
            _ => null,
        };
        return audio is null ? description : $"{description} {audio} ! appsink name=sink1";
    }

    /// <summary>Gets the tracks a test source has, known before it starts.</summary>
    public static TrackInfo[] Tracks(TestPatternOptions o)
    {
        var video = new TrackInfo
        {
            Index = 0,
            Kind = MediaKind.Video,
            Codec = o.VideoCodec,
            ClockRate = 90000,
            Width = o.Width,
            Height = o.Height,
            FrameRate = o.Fps,
        };
        if (o.AudioCodec is not { } audio)
        {
            return [video];
        }

        var (rate, channels) = audio switch
        {
            Codec.Pcmu or Codec.Pcma => (8000, 1),
            Codec.Opus => (48000, 2),
            _ => (48000, 1),
        };
        return [video, new TrackInfo { Index = 1, Kind = MediaKind.Audio, Codec = audio, ClockRate = rate, Channels = channels }];
    }

    /// <inheritdoc />
    public ISourceConnection Open(IMediaSink sink)
    {
        var session = new IngestSession(config.Source, sink, config.ConnectTimeout, config.StallTimeout, time, logger);
        var tracks = Tracks(_options);
        var pipeline = Pipeline.Parse(Describe(_options), session.BusCallback);
        try
        {
            foreach (var track in tracks)
            {
                var appsink = pipeline.GetByName($"sink{track.Index}") ?? throw new GstException($"test pipeline has no sink{track.Index}");
                session.OwnSink(appsink);
                var shift = track.Kind == MediaKind.Video ? EncoderShift : TimeSpan.Zero;
                AppSink.Attach(appsink, new TrackSampleHandler(session, track.Index, track.Codec, shift));
            }
        }
        catch
        {
            pipeline.Dispose();
            throw;
        }

        session.PostTracks(tracks);
        session.Start(pipeline);
        return session;
    }
}
