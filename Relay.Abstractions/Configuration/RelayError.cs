namespace Relay.Configuration;

/// <summary>Why a source connection failed or ended.</summary>
public enum RelayError
{
    /// <summary>No error.</summary>
    None,

    /// <summary>The camera could not be reached (refused, unreachable, reset).</summary>
    SourceUnreachable,

    /// <summary>The camera did not answer or send media within the connect timeout.</summary>
    SourceTimedOut,

    /// <summary>The camera rejected the credentials (RTSP 401/403).</summary>
    SourceUnauthorized,

    /// <summary>The camera does not have the requested path (RTSP 404).</summary>
    SourceNotFound,

    /// <summary>The camera ended the stream (EOS or TEARDOWN).</summary>
    SourceEnded,

    /// <summary>The camera sent nothing for the stall timeout while online.</summary>
    SourceStalled,

    /// <summary>The camera's media cannot be relayed (for example, no track Relay can use).</summary>
    UnsupportedCodec,

    /// <summary>A GStreamer pipeline failed for another reason.</summary>
    PipelineError,
}
