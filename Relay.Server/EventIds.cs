namespace Relay.Server;

/// <summary>Every log event id Relay uses, in one place so they stay unique. Ranges by area.</summary>
internal static class EventIds
{
    // 1xx: sources and supervision
    public const int SourceConnecting = 100;
    public const int SourceOnline = 101;
    public const int SourceEnded = 102;
    public const int SourceAttemptFailed = 103;
    public const int SourceTracks = 104;
    public const int SourceTrackChanged = 105;
    public const int SourceWarnings = 106;
    public const int SourceUnsupportedPad = 107;
    public const int SourceEventsDropped = 108;
    public const int SourceStopped = 109;
    public const int SourceStalled = 110;
    public const int SourceSampleFailed = 112;

    // 2xx: streams and readers
    public const int StreamCodecChanged = 200;
    public const int ReaderTooSlow = 201;
    public const int GopCacheOverflow = 202;
    public const int SubscriberFailed = 203;

    // 3xx: hosting and configuration
    public const int StreamStarted = 300;
    public const int StreamRemoved = 301;
    public const int ConfigurationInvalid = 302;
    public const int NativeCallbackFailed = 303;
    public const int GStreamerReady = 304;
    public const int ConfigurationReloaded = 305;
    public const int StreamRestarted = 306;
    public const int StateFile = 310;
    public const int ApiWriteRefused = 320;
    public const int Channel = 330;
    public const int Placement = 340;
    public const int Auth = 350;
    public const int Push = 370;

    // 4xx: RTSP server
    public const int RtspListening = 400;
    public const int RtspBadRequest = 401;
    public const int RtspSessionStarted = 402;
    public const int RtspSessionEnded = 403;
    public const int RtspConnectionError = 404;
    public const int RtspSessionTimedOut = 405;
    public const int RtspUdpError = 406;
    public const int RtspLimit = 407;

    // 5xx: browser outputs (HLS, snapshots, MJPEG) and the web page
    public const int HlsStarted = 500;
    public const int HlsStopped = 501;
    public const int HlsTrackLeftOut = 502;
    public const int HlsMuxFailed = 503;
    public const int HlsIdleCheckFailed = 504;
    public const int JpegPipelineFailed = 510;
    public const int MjpegViewerStarted = 511;
    public const int MjpegViewerEnded = 512;
    public const int MjpegFeedStarted = 513;
    public const int MjpegFeedStopped = 514;
    public const int MjpegDecodeFailed = 515;
    public const int MjpegHousekeepingFailed = 516;
}
