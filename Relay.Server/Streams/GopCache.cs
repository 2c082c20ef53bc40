using Relay.Media;

namespace Relay.Server.Streams;

/// <summary>
/// The latest keyframe of the stream's anchor video track and every access unit (of every track) since,
/// so a new reader can start decoding at once. Bounded by bytes and duration: a GOP longer than either is
/// not cached (a partial GOP without its keyframe would be useless), and readers then wait for a live
/// keyframe. Not thread-safe: its owner calls it under its lock. Holds access units (the stream) or their
/// RTP packets (the RTSP server), so both start new readers at the same keyframe.
/// </summary>
internal sealed class GopCache<T>(long maxBytes, TimeSpan maxDuration) : IDisposable
    where T : class, IMediaFrame
{
    private readonly List<T> _units = [];
    private long _maxBytes = maxBytes;
    private TimeSpan _maxDuration = maxDuration;
    private long _bytes;
    private bool _collecting;

    /// <summary>Gets or sets the track whose keyframes start a GOP; -1 disables the cache (no video).</summary>
    public int AnchorTrack { get; set; } = -1;

    /// <summary>Gets the cached units, keyframe first.</summary>
    public IReadOnlyList<T> Units => _units;

    /// <summary>Gets the cached bytes.</summary>
    public long Bytes => _bytes;

    /// <summary>Gets the number of GOPs that were too long to cache.</summary>
    public long Overflows { get; private set; }

    /// <summary>Adds a unit that the stream delivers; takes its own reference when it keeps it.</summary>
    public void Add(T unit)
    {
        if (AnchorTrack < 0)
        {
            return;
        }

        if (unit.TrackIndex == AnchorTrack && unit.IsKeyframe)
        {
            Clear();
            _collecting = true;
        }
        else if (!_collecting)
        {
            return;
        }

        if (_units.Count > 0 && (_bytes + unit.Length > _maxBytes || unit.Dts - _units[0].Dts > _maxDuration))
        {
            Clear();
            _collecting = false;
            Overflows++;
            return;
        }

        unit.AddRef();
        _units.Add(unit);
        _bytes += unit.Length;
    }

    /// <summary>Changes the bounds; they apply from the next unit.</summary>
    public void SetBounds(long maxBytes, TimeSpan maxDuration)
    {
        _maxBytes = maxBytes;
        _maxDuration = maxDuration;
    }

    /// <summary>Drops every cached unit.</summary>
    public void Clear()
    {
        foreach (var unit in _units)
        {
            unit.Release();
        }

        _units.Clear();
        _bytes = 0;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        Clear();
        _collecting = false;
    }
}
