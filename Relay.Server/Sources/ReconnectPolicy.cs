using Relay.Configuration;

namespace Relay.Server.Sources;

/// <summary>
/// How long to wait before the next connection attempt. A camera that was online moments ago is most likely
/// rebooting: it is retried every <c>RetryDelay</c> for <see cref="RebootWindow"/>, so readers resume within about a
/// second of its return. A camera that has been away longer, or never answered, is retried with exponential backoff
/// from <c>RetryDelay</c> up to <c>MaxRetryDelay</c>. One that rejects the credentials is retried at
/// <c>MaxRetryDelay</c> only, never hammered. Every delay gets ±20 % jitter so cameras behind one switch do not
/// reconnect in lockstep.
/// </summary>
internal static class ReconnectPolicy
{
    /// <summary>How long after a drop a camera counts as rebooting.</summary>
    public static readonly TimeSpan RebootWindow = TimeSpan.FromSeconds(30);

    /// <summary>Computes the delay before attempt number <paramref name="failures"/> + 1.</summary>
    /// <param name="config">The stream's retry settings.</param>
    /// <param name="error">Why the last attempt failed.</param>
    /// <param name="failures">Failed attempts so far since the source was last online (1 after the first).</param>
    /// <param name="sinceOnline">Time since the source was last online, or null if it never was.</param>
    /// <param name="random">A number in [0, 1) for the jitter.</param>
    public static TimeSpan Delay(StreamConfig config, RelayError error, int failures, TimeSpan? sinceOnline, double random)
    {
        if (error == RelayError.SourceUnauthorized)
        {
            return config.MaxRetryDelay;
        }

        TimeSpan nominal;
        if (sinceOnline is { } since && since < RebootWindow)
        {
            nominal = config.RetryDelay;
        }
        else
        {
            // Count only the failures after the reboot window, so backoff starts small when it starts.
            var quick = sinceOnline is null ? 0 : (int)(RebootWindow.Ticks / Math.Max(1, config.RetryDelay.Ticks));
            var exponent = Math.Clamp(failures - 1 - quick, 0, 30);
            nominal = TimeSpan.FromTicks((long)Math.Min(config.MaxRetryDelay.Ticks, config.RetryDelay.Ticks * Math.Pow(2, exponent)));
        }

        var jittered = nominal * (0.8 + (0.4 * random));
        return jittered > config.MaxRetryDelay ? config.MaxRetryDelay : jittered;
    }
}
