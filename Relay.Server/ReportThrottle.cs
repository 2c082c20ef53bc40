namespace Relay.Server;

/// <summary>
/// Counts a noisy event and says when to report it: the first time at once, then at most once per interval, with how
/// many happened since the last report. Thread-safe.
/// </summary>
/// <param name="time">The clock.</param>
/// <param name="interval">The shortest time between two reports.</param>
internal sealed class ReportThrottle(TimeProvider time, TimeSpan interval)
{
    private readonly Lock _gate = new();
    private long _count; // guarded by _gate: since the last report
    private long _lastReport; // guarded by _gate
    private bool _reported; // guarded by _gate

    /// <summary>Counts one event; true when it is time to report, with the events counted since the last report.</summary>
    public bool Count(out long count)
    {
        lock (_gate)
        {
            _count++;
            var now = time.GetTimestamp();
            if (_reported && time.GetElapsedTime(_lastReport, now) < interval)
            {
                count = 0;
                return false;
            }

            count = _count;
            _count = 0;
            _lastReport = now;
            _reported = true;
            return true;
        }
    }
}
