using Relay.Media;

namespace Relay.Server.Sources;

/// <summary>The GStreamer chain that turns one RTP track into access units, by codec.</summary>
internal static class IngestBranches
{
    /// <summary>The name of the appsink at the end of every branch.</summary>
    public const string SinkName = "sink";

    /// <summary>
    /// Gets the launch description (ending in an appsink) for a track's RTP pad. H.264 needs no parser element: the
    /// depayloader already gives whole access units in byte-stream form, and Relay marks keyframes, inserts missing
    /// parameter sets and reads the SPS itself (h264parse cost 240 kB of parser state per camera). H.265's parser
    /// inserts the parameter sets before every keyframe (config-interval=-1).
    /// </summary>
    public static string For(TrackInfo track) => track.Codec switch
    {
        Codec.H264 => $"rtph264depay ! video/x-h264,stream-format=byte-stream,alignment=au ! appsink name={SinkName}",
        Codec.H265 => $"rtph265depay ! h265parse config-interval=-1 ! video/x-h265,stream-format=byte-stream,alignment=au ! appsink name={SinkName}",
        Codec.Aac when string.Equals(track.EncodingName, "MP4A-LATM", StringComparison.OrdinalIgnoreCase) =>
            $"rtpmp4adepay ! aacparse ! audio/mpeg,mpegversion=4,stream-format=raw ! appsink name={SinkName}",
        Codec.Aac => $"rtpmp4gdepay ! aacparse ! audio/mpeg,mpegversion=4,stream-format=raw ! appsink name={SinkName}",
        Codec.Pcmu => $"rtppcmudepay ! appsink name={SinkName}",
        Codec.Pcma => $"rtppcmadepay ! appsink name={SinkName}",
        Codec.Opus => $"rtpopusdepay ! appsink name={SinkName}",
        _ => $"appsink name={SinkName}",
    };
}
