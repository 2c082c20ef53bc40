using Microsoft.Extensions.Logging;
using Relay.Configuration;

namespace Relay.Server.Sources;

internal sealed partial class SourceSupervisor
{
    private static partial class Log
    {
        [LoggerMessage(EventIds.SourceConnecting, LogLevel.Information, "Stream {Stream}: connecting to {Source}.")]
        public static partial void Connecting(ILogger logger, string stream, string source);

        [LoggerMessage(EventIds.SourceOnline, LogLevel.Information, "Stream {Stream}: online ({Source}).")]
        public static partial void Online(ILogger logger, string stream, string source);

        [LoggerMessage(EventIds.SourceEnded, LogLevel.Warning, "Stream {Stream}: source connection ended ({Error}): {Reason}. Reconnecting.")]
        public static partial void Ended(ILogger logger, string stream, RelayError error, string reason);

        [LoggerMessage(EventIds.SourceAttemptFailed, LogLevel.Warning, "Stream {Stream}: attempt {Attempt} failed ({Error}): {Reason}. Next attempt in {DelaySeconds:0.0} s.")]
        public static partial void AttemptFailed(ILogger logger, string stream, int attempt, RelayError error, string reason, double delaySeconds);

        [LoggerMessage(EventIds.SourceStalled + 1, LogLevel.Warning, "Stream {Stream}: {Failures} attempts failed in a row; attempts paused for {Seconds:0} s.")]
        public static partial void CircuitOpened(ILogger logger, string stream, int failures, double seconds);

        [LoggerMessage(EventIds.SourceStopped, LogLevel.Information, "Stream {Stream}: source stopped.")]
        public static partial void Stopped(ILogger logger, string stream);
    }
}
