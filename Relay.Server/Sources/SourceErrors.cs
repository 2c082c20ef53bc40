using Relay.Configuration;
using Relay.Server.GStreamer;

namespace Relay.Server.Sources;

/// <summary>Maps GStreamer errors to <see cref="RelayError"/> kinds.</summary>
internal static class SourceErrors
{
    /// <summary>Classifies an error posted on an ingest pipeline's bus.</summary>
    public static RelayError Classify(BusMessage message) => Classify(message.Domain, message.Code, $"{message.Text} {message.Debug}");

    /// <summary>Classifies a GError domain and code (rtspsrc maps RTSP status codes onto resource errors).</summary>
    public static RelayError Classify(GstErrorDomain domain, int code, string text)
    {
        if (domain == GstErrorDomain.Resource)
        {
            return code switch
            {
                GstResourceError.NotAuthorized => RelayError.SourceUnauthorized,
                GstResourceError.NotFound => RelayError.SourceNotFound,
                _ when text.Contains("timeout", StringComparison.OrdinalIgnoreCase)
                    || text.Contains("timed out", StringComparison.OrdinalIgnoreCase)
                    || text.Contains("Could not receive any UDP packets", StringComparison.OrdinalIgnoreCase) => RelayError.SourceTimedOut,
                _ => RelayError.SourceUnreachable,
            };
        }

        if (text.Contains("Unauthorized", StringComparison.OrdinalIgnoreCase))
        {
            return RelayError.SourceUnauthorized;
        }

        return RelayError.PipelineError;
    }
}
