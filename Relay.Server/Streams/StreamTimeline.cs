using Relay.Media;

namespace Relay.Server.Streams;

/// <summary>
/// Maps each source connection's (epoch's) timestamps onto one continuous stream timeline. An epoch's first
/// unit is placed at the wall-clock time elapsed since the stream began (never before the last unit
/// delivered), and the rest of the epoch keeps the source's own spacing. So timestamps keep pace with real
/// time across a camera outage (RTP readers see a pause, not a jump back), and every track stays monotonic.
/// Not thread-safe: the stream calls it under its lock.
/// </summary>
internal sealed class StreamTimeline(TimeProvider time)
{
    private static readonly TimeSpan Step = TimeSpan.FromTicks(1);
    private readonly long _origin = time.GetTimestamp();
    private readonly DateTimeOffset _originUtc = time.GetUtcNow();
    private readonly Dictionary<int, TimeSpan> _lastDts = [];
    private TimeSpan? _offset;
    private TimeSpan _lastDelivered = TimeSpan.MinValue;

    /// <summary>Gets the wall-clock time of timestamp zero: a unit's DTS after it is the (approximate) time it arrived.</summary>
    public DateTimeOffset OriginUtc => _originUtc;

    /// <summary>Gets the number of epochs begun.</summary>
    public int Epoch { get; private set; }

    /// <summary>Gets the offset applied in the current epoch, once its first unit arrived.</summary>
    public TimeSpan? Offset => _offset;

    /// <summary>Starts a new epoch: the next unit re-anchors the mapping.</summary>
    public void BeginEpoch()
    {
        Epoch++;
        _offset = null;
    }

    /// <summary>Rewrites <paramref name="unit"/>'s PTS and DTS onto the stream timeline.</summary>
    public void Rebase(AccessUnit unit)
    {
        if (_offset is null)
        {
            var now = time.GetElapsedTime(_origin);
            var start = _lastDelivered == TimeSpan.MinValue ? now : Max(now, _lastDelivered + TimeSpan.FromMilliseconds(1));
            _offset = start - unit.Dts;
        }

        var offset = _offset.Value;
        var pts = unit.Pts + offset;
        var dts = unit.Dts + offset;
        if (_lastDts.TryGetValue(unit.TrackIndex, out var last) && dts <= last)
        {
            // Out of order across tracks at an epoch boundary: keep this track monotonic.
            var shift = last + Step - dts;
            dts += shift;
            pts += shift;
        }

        _lastDts[unit.TrackIndex] = dts;
        unit.Pts = pts;
        unit.Dts = dts;
        if (dts > _lastDelivered)
        {
            _lastDelivered = dts;
        }
    }

    private static TimeSpan Max(TimeSpan a, TimeSpan b) => a > b ? a : b;
}
