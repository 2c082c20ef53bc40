using Microsoft.Extensions.Logging;

namespace Relay.Server.Sources;

internal sealed partial class IngestSession
{
    private static partial class Log
    {
        [LoggerMessage(EventIds.SourceTracks, LogLevel.Information, "Source tracks: {Tracks}.")]
        public static partial void Tracks(ILogger logger, string tracks);

        [LoggerMessage(EventIds.SourceTrackChanged, LogLevel.Information, "Track parameters: {Track}.")]
        public static partial void TrackChanged(ILogger logger, string track);

        [LoggerMessage(EventIds.SourceWarnings, LogLevel.Warning, "{Count} GStreamer warning(s) since the last report; latest: {Text}")]
        public static partial void Warnings(ILogger logger, long count, string text);

        [LoggerMessage(EventIds.SourceSampleFailed, LogLevel.Warning, "Track #{Track}: {Count} frame(s) dropped since the last report: reading their parameters failed.")]
        public static partial void SampleFailed(ILogger logger, int track, long count, Exception exception);

        [LoggerMessage(EventIds.SourceUnsupportedPad, LogLevel.Warning, "Source track not relayed: {Reason}")]
        public static partial void UnsupportedPad(ILogger logger, string reason);
    }
}
