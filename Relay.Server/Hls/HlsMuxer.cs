using System.Collections.Concurrent;
using System.Net;
using System.Text;
using Microsoft.Extensions.Logging;
using Relay.Configuration;
using Relay.Media;
using Relay.Server.Streams;

namespace Relay.Server.Hls;

/// <summary>
/// One stream as low-latency HLS, muxed once however many players read it. It subscribes to the stream (so it starts
/// at the cached GOP: a player gets a playable part at once) and turns access units into fMP4 partial segments
/// (<see cref="HlsConfig.PartDuration"/>, whole frames) and segments (cut at the first keyframe after
/// <see cref="HlsConfig.SegmentDuration"/>), held in memory for a window of <see cref="HlsConfig.SegmentCount"/>
/// segments. Video leads the cuts; the first AAC or Opus audio track rides along (G.711 and relayed-as-is tracks
/// are left out, logged once).
/// </summary>
/// <remarks>
/// Camera outages: the stream timeline keeps real time across an outage; the muxer removes the gap, so media time
/// continues (players see a pause, as RTSP readers do) while EXT-X-PROGRAM-DATE-TIME keeps the wall clock. A change
/// of codec parameters starts a new initialization segment after an EXT-X-DISCONTINUITY.
/// Threading: the stream calls in under its lock on its delivery thread; HTTP requests read under <see cref="_gate"/>.
/// </remarks>
internal sealed partial class HlsMuxer : IStreamSubscriber, IDisposable
{
    private static readonly TimeSpan ConfigurationWait = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan MinimumGap = TimeSpan.FromSeconds(1);
    private const int MaxTargetDuration = 10;

    private readonly Lock _gate = new();
    private readonly HlsConfig _config;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly ConcurrentDictionary<IPAddress, HlsViewer> _viewers = new();

    // Everything below is guarded by _gate.
    private readonly List<HlsSegment> _listed = [];
    private readonly List<HlsSegment> _expired = [];
    private readonly Dictionary<int, ReadOnlyMemory<byte>> _inits = [];
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private TrackInfo[] _streamTracks = [];
    private int _anchor = -1;
    private Fmp4Track[] _tracks = [];
    private int[] _muxedIndex = []; // stream track index -> index into _tracks, or -1
    private Pending[] _pending = [];
    private List<Fmp4Sample>[] _samples = [];
    private long[] _lastDuration = [];
    private int _lead = -1;
    private bool _started;
    private bool _reconfigure;
    private int _sourceSwitches; // the stream's source switches when the current tracks started (a channel's)
    private bool _awaitKeyframe = true;
    private TimeSpan? _firstKeyframe;
    private TimeSpan? _origin;
    private TimeSpan _collapsed;
    private TimeSpan _lastDts = TimeSpan.MinValue;
    private TimeSpan? _partStart;
    private TimeSpan _leadRestart; // media time of the keyframe output last (re)started at
    private bool[] _alignToLead = []; // per muxed track: its next sample starts at _leadRestart
    private long _partUnits;
    private long _segmentUnits;
    private bool _partIndependent;
    private uint _fragments;
    private int _initVersion;
    private HlsSegment? _open;
    private bool _nextDiscontinuity;
    private long _nextSequence;
    private long _discontinuitySequence;
    private int _targetDuration;
    private long _partTargetUnits; // the nominal part: this many lead-track units (whole frames)
    private long _partLimitUnits; // no part exceeds this (PART-TARGET): half a frame of room for timestamp jitter
    private double _partTarget;
    private byte[]? _playlist;
    private bool _ended;
    private bool _loggedLeftOut;
    private long _lastErrorLog;
    private long _lastRequest;
    private long _bytesSent;

    public HlsMuxer(StreamHub stream, HlsConfig config, TimeProvider time, ILogger logger)
    {
        Stream = stream;
        _config = config;
        _time = time;
        _logger = logger;
        _lastRequest = time.GetTimestamp();
        Names = new HlsNames(Convert.ToHexStringLower(BitConverter.GetBytes(Random.Shared.Next()))[..6]);
    }

    /// <summary>Gets the stream muxed.</summary>
    public StreamHub Stream { get; }

    /// <summary>Gets the names of this muxer's resources.</summary>
    public HlsNames Names { get; }

    /// <summary>Gets a value indicating whether the stream went away (the muxer serves nothing more).</summary>
    public bool IsEnded
    {
        get
        {
            lock (_gate)
            {
                return _ended;
            }
        }
    }

    /// <summary>Gets the time since the last request.</summary>
    public TimeSpan IdleFor => _time.GetElapsedTime(Volatile.Read(ref _lastRequest));

    /// <summary>Gets the bytes sent to players.</summary>
    public long BytesSent => Interlocked.Read(ref _bytesSent);

    /// <summary>Gets the bytes of media held (listed and recently expired segments, and initialization segments).</summary>
    public long BytesHeld
    {
        get
        {
            lock (_gate)
            {
                return _listed.Sum(s => s.Bytes) + _expired.Sum(s => s.Bytes) + _inits.Values.Sum(i => (long)i.Length);
            }
        }
    }

    /// <summary>Gets the players seen within the last <paramref name="window"/> (by address), for status and metrics.</summary>
    public IReadOnlyList<HlsViewer> Viewers(TimeSpan window)
    {
        var now = _time.GetTimestamp();
        foreach (var (address, viewer) in _viewers)
        {
            if (_time.GetElapsedTime(viewer.LastSeen, now) > window)
            {
                _viewers.TryRemove(KeyValuePair.Create(address, viewer));
            }
        }

        return [.. _viewers.Values];
    }

    /// <summary>Records a request (it keeps the muxer running).</summary>
    public void Touch() => Volatile.Write(ref _lastRequest, _time.GetTimestamp());

    /// <summary>Counts bytes sent to a player.</summary>
    public void CountSent(IPAddress? client, long bytes)
    {
        Interlocked.Add(ref _bytesSent, bytes);
        if (client is not null)
        {
            var viewer = _viewers.GetOrAdd(client, static (address, time) => new HlsViewer(address, time.GetUtcNow()), _time);
            viewer.Seen(_time.GetTimestamp(), bytes);
        }
    }

    /// <summary>
    /// Waits until the playlist can be given to a player: a complete segment (players that do not know LL-HLS need
    /// one) followed by a live part, a settled target duration (it can never change), and with
    /// <paramref name="history"/> three complete segments, the hold-back a standard player expects before it starts
    /// (Chromium's own HLS player fails without it).
    /// </summary>
    /// <returns>False when not even one segment completed in time or the stream went away.</returns>
    public async Task<bool> WaitForContentAsync(TimeSpan timeout, bool history, CancellationToken cancellationToken)
    {
        // A playlist ending with the segment made from the cached GOP lists no part yet: a low-latency player would then
        // ask for the next whole segment and wait up to a GOP. The first live part follows it within a part duration.
        await WaitForAsync(
            () => HasCompleteSegment() && !_listed[^1].FromCache
                && (_targetDuration > 0 || Stream.Statistics.KeyframeInterval > TimeSpan.Zero)
                && (!history || _listed.Count(s => s.IsComplete) >= 3),
            timeout,
            cancellationToken);
        lock (_gate)
        {
            return HasCompleteSegment();
        }
    }

    private bool HasCompleteSegment() => _listed.Count > 0 && _listed[0].IsComplete;

    /// <summary>Gets the multivariant playlist; null before the first part.</summary>
    public string? GetMultivariantPlaylist()
    {
        Fmp4Track[] tracks;
        double measured;
        lock (_gate)
        {
            if (_listed.Count == 0 || _tracks.Length == 0)
            {
                return null;
            }

            tracks = _tracks;
            var complete = _listed.Where(s => s.IsComplete && s.Duration > 0).ToList();
            measured = complete.Count > 0 ? complete.Max(s => s.Bytes * 8 / s.Duration) : 0;
        }

        // Outside _gate: the stream's lock is taken before ours on the delivery thread.
        var announced = tracks.Sum(t => Stream.BitrateOf(t.Info.Index) ?? 0);
        var video = Array.Find(tracks, t => t.IsVideo)?.Info;
        return HlsPlaylist.Multivariant((long)(Math.Max(measured, announced) * 1.1), tracks.Select(t => t.Codecs), video?.Width, video?.Height, video?.FrameRate);
    }

    /// <summary>
    /// Gets the media playlist, holding the request until it contains segment <paramref name="msn"/> (part
    /// <paramref name="part"/> when given), as LL-HLS blocking playlist reload asks (RFC 8216bis §6.2.5.2).
    /// </summary>
    /// <returns>The playlist; or a reason it cannot be given.</returns>
    public async Task<(byte[]? Playlist, string? BadRequest)> GetMediaPlaylistAsync(long? msn, int? part, CancellationToken cancellationToken)
    {
        if (part is not null && msn is null)
        {
            return (null, "_HLS_part requires _HLS_msn");
        }

        if (msn is { } wanted)
        {
            lock (_gate)
            {
                var last = _listed.Count > 0 ? _listed[^1].Sequence : _nextSequence - 1;
                if (wanted > last + 2)
                {
                    return (null, $"_HLS_msn={wanted} is more than two segments beyond the playlist's last segment ({last})");
                }

                if (part is { } p && (p < 0 || p > MaxPartsPerSegment() + AdvancePartLimit()))
                {
                    return (null, $"_HLS_part={p} is beyond any part this playlist will have");
                }
            }

            // The spec lets a server answer 503 after three target durations; answering with the playlist as it is
            // keeps players polling through a camera outage instead of counting errors.
            await WaitForAsync(() => Contains(wanted, part), TimeSpan.FromSeconds(3 * Math.Max(1, TargetDurationUnlocked())), cancellationToken);
        }

        lock (_gate)
        {
            if (_listed.Count == 0)
            {
                return (null, null);
            }

            // Rendered once per change and shared by every player: its UTF-8 bytes go out as they are.
            return (_playlist ??= Encoding.UTF8.GetBytes(HlsPlaylist.Media(new MediaPlaylistState(Names, TargetDuration(), _partTarget, _discontinuitySequence, _nextSequence, _listed))), null);
        }
    }

    /// <summary>Gets an initialization segment.</summary>
    public ReadOnlyMemory<byte>? GetInit(int version)
    {
        lock (_gate)
        {
            return _inits.TryGetValue(version, out var init) ? init : null;
        }
    }

    /// <summary>Gets a complete segment's parts, waiting for an open segment to complete.</summary>
    /// <returns>The parts' bytes in order, or null when there is no such segment (or it did not complete in time).</returns>
    public async Task<ReadOnlyMemory<byte>[]?> GetSegmentAsync(long sequence, CancellationToken cancellationToken)
    {
        await WaitForAsync(() => Find(sequence) is { } segment ? segment.IsComplete : sequence != _nextSequence, TimeSpan.FromSeconds(3 * Math.Max(1, TargetDurationUnlocked())), cancellationToken);
        lock (_gate)
        {
            return Find(sequence) is { IsComplete: true } segment ? segment.Parts.Select(p => p.Data).ToArray() : null;
        }
    }

    /// <summary>Gets a part, waiting for the one the playlist hints at (EXT-X-PRELOAD-HINT) or the next few.</summary>
    /// <returns>The part's bytes, or null when it does not exist and will not.</returns>
    public async Task<ReadOnlyMemory<byte>?> GetPartAsync(long sequence, int index, CancellationToken cancellationToken)
    {
        await WaitForAsync(() => PartSettled(sequence, index), TimeSpan.FromSeconds(3 * Math.Max(1, TargetDurationUnlocked())), cancellationToken);
        lock (_gate)
        {
            return Find(sequence) is { } segment && index < segment.Parts.Count ? segment.Parts[index].Data : null;
        }
    }

    /// <inheritdoc />
    void IStreamSubscriber.OnAttached(IReadOnlyList<TrackInfo> tracks, int anchorTrack, IReadOnlyList<AccessUnit> gop)
    {
        lock (_gate)
        {
            _streamTracks = [.. tracks];
            _anchor = anchorTrack;
            foreach (var unit in gop)
            {
                Accept(unit);
            }

            if (_started && gop.Count > 0)
            {
                // The cached GOP becomes a complete first segment at once, so players that read only whole
                // segments (ffmpeg, native players) can start now rather than at the next keyframe.
                FlushPending();
                CloseSegment(fromCache: true);
            }
        }
    }

    /// <inheritdoc />
    void IStreamSubscriber.OnAccessUnit(AccessUnit unit)
    {
        lock (_gate)
        {
            Accept(unit);
        }
    }

    /// <inheritdoc />
    void IStreamSubscriber.OnTracksChanged(IReadOnlyList<TrackInfo> tracks, int anchorTrack, bool codecChanged)
    {
        lock (_gate)
        {
            _streamTracks = [.. tracks];
            _anchor = anchorTrack;
            if (!_started || _ended)
            {
                return;
            }

            if (codecChanged)
            {
                // The stream's units no longer match our tracks: end what we have and start again at a keyframe.
                Restart(flushPending: false);
            }
            else if (!SameTracks(Candidates()) || Stream.SourceSwitches != _sourceSwitches)
            {
                // New parameter sets, or a channel now showing another camera: they take effect at the next keyframe
                // (which carries them) after a discontinuity.
                _reconfigure = true;
            }
        }
    }

    /// <inheritdoc />
    void IStreamSubscriber.OnDetached()
    {
        lock (_gate)
        {
            End();
        }
    }

    /// <summary>Leaves the stream and drops every segment.</summary>
    public void Dispose()
    {
        Stream.Unsubscribe(this);
        lock (_gate)
        {
            End();
        }
    }

    private void End()
    {
        if (_ended)
        {
            return;
        }

        _ended = true;
        DropPending();
        _listed.Clear();
        _expired.Clear();
        _inits.Clear();
        Publish();
    }

    private void Accept(AccessUnit unit)
    {
        if (_ended || unit.Length == 0)
        {
            return;
        }

        try
        {
            Mux(unit);
        }
        catch (Exception e) when (e is FormatException or ArgumentException or InvalidOperationException or IndexOutOfRangeException)
        {
            // A malformed unit or parameter set must not stop the stream's other readers: start over at a keyframe.
            var now = _time.GetTimestamp();
            if (_lastErrorLog == 0 || _time.GetElapsedTime(_lastErrorLog, now) > TimeSpan.FromSeconds(10))
            {
                _lastErrorLog = now;
                Log.MuxFailed(_logger, Stream.Name, e);
            }

            Restart(flushPending: false);
        }
    }

    private void Mux(AccessUnit unit)
    {
        var isLeadTrack = _started ? _lead >= 0 && MuxedIndex(unit.TrackIndex) == _lead : unit.TrackIndex == LeadCandidate();
        var isLeadKeyframe = isLeadTrack && unit.IsKeyframe;
        var restarted = false; // output (re)starts at this lead keyframe
        if (!_started)
        {
            if (!isLeadKeyframe || !TryStart(unit))
            {
                return;
            }

            restarted = true;
        }

        var m = MuxedIndex(unit.TrackIndex);
        if (m < 0)
        {
            return;
        }

        if (_lastDts != TimeSpan.MinValue && unit.Dts - _lastDts > GapThreshold())
        {
            // The camera was away: close what we have and remove the gap from media time.
            FlushPending();
            CloseSegment();
            _collapsed += unit.Dts - _lastDts - LeadFrameDuration();
            _awaitKeyframe = true;
        }

        if (unit.Dts > _lastDts)
        {
            _lastDts = unit.Dts;
        }

        if (_awaitKeyframe)
        {
            if (!isLeadKeyframe)
            {
                return;
            }

            _awaitKeyframe = false;
            restarted = true;
        }

        if (isLeadKeyframe && _reconfigure)
        {
            Restart(flushPending: true);
            if (!TryStart(unit))
            {
                return;
            }

            m = MuxedIndex(unit.TrackIndex);
            restarted = true;
        }

        var track = _tracks[m];
        var decode = track.ToTimescale(unit.Dts - _collapsed - _origin!.Value);
        if (decode < 0)
        {
            return; // before the first keyframe (audio timestamps interleave loosely with video)
        }

        var composition = track.ToTimescale(unit.Pts - _collapsed - _origin.Value) - decode;
        if (restarted)
        {
            _leadRestart = unit.Dts - _collapsed - _origin.Value;
            Array.Fill(_alignToLead, true);
            _alignToLead[m] = false;
        }
        else if (_alignToLead[m])
        {
            // The first audio frame after the keyframe starts a few ms after it (earlier ones belong before the
            // keyframe). Starting it at the keyframe's time instead means the tracks' buffered ranges begin together,
            // so a browser has no hole to skip before it can play; the next frame keeps its own time.
            _alignToLead[m] = false;
            var start = track.ToTimescale(_leadRestart);
            if (decode > start && decode - start < 2 * NominalDuration(m))
            {
                decode = start;
                composition = 0;
            }
        }

        ref var pending = ref _pending[m];
        if (pending.Unit is not null)
        {
            Commit(m, Math.Max(1, decode - pending.Decode));
        }

        if (m == _lead)
        {
            // Until the target duration is settled, a segment may last up to the longest target allowed.
            var segmentLimit = (long)(((_targetDuration > 0 ? _targetDuration : MaxTargetDuration) + 0.49) * track.Timescale);
            var longEnough = _segmentUnits >= (long)(_config.SegmentDuration.TotalSeconds * track.Timescale) - (_lastDuration[m] / 2);
            if (unit.IsKeyframe && (longEnough || !SegmentStartsWithKeyframe()))
            {
                // (A segment that began mid-GOP, after the cached GOP was cut short, ends at the next keyframe so
                // segments line up with GOPs from then on.)
                if (SegmentStartsWithKeyframe() && longEnough && _targetDuration == 0)
                {
                    // A keyframe-to-keyframe segment tells the GOP when the stream could not yet.
                    SettleTargetDuration((double)_segmentUnits / track.Timescale);
                }

                CloseSegment();
            }
            else if (_segmentUnits + _lastDuration[m] > segmentLimit)
            {
                // No keyframe within the target duration (the camera's GOP grew): cut anyway, keeping the playlist valid.
                CloseSegment();
            }
            else if (unit.IsKeyframe && track.IsVideo)
            {
                // A keyframe inside a segment starts its own part, so players can start there.
                ClosePart();
            }
        }

        unit.AddRef();
        pending = new Pending(unit, decode, (int)Math.Clamp(composition, int.MinValue, int.MaxValue), unit.IsKeyframe || !track.IsVideo);
    }

    private void Commit(int m, long duration)
    {
        ref var pending = ref _pending[m];
        var sample = new Fmp4Sample(pending.Unit!, pending.Decode, (int)Math.Min(duration, int.MaxValue), pending.Composition, pending.IsSync);
        pending = default;
        if (m == _lead && _samples[m].Count > 0 && _partUnits + sample.Duration > _partLimitUnits)
        {
            ClosePart(); // a late frame (camera timestamps jitter) would make the part longer than PART-TARGET
        }

        if (NothingBuffered())
        {
            _partStart = sample.Unit.Dts;
        }

        _samples[m].Add(sample);
        _lastDuration[m] = sample.Duration;
        if (m != _lead)
        {
            return;
        }

        if (_samples[m].Count == 1)
        {
            _partIndependent = sample.IsSync;
        }

        _partUnits += sample.Duration;
        _segmentUnits += sample.Duration;
        if (_partUnits + sample.Duration > _partLimitUnits)
        {
            ClosePart(); // another frame like this one would not fit: publish now rather than a frame later
        }
    }

    private bool NothingBuffered()
    {
        foreach (var samples in _samples)
        {
            if (samples.Count > 0)
            {
                return false;
            }
        }

        return true;
    }

    private void FlushPending()
    {
        for (var m = 0; m < _pending.Length; m++)
        {
            if (_pending[m].Unit is not null)
            {
                Commit(m, _lastDuration[m] > 0 ? _lastDuration[m] : NominalDuration(m));
            }
        }
    }

    private void ClosePart()
    {
        if (NothingBuffered())
        {
            return;
        }

        var runs = new List<(Fmp4Track, IReadOnlyList<Fmp4Sample>)>(_tracks.Length);
        for (var m = 0; m < _tracks.Length; m++)
        {
            runs.Add((_tracks[m], _samples[m]));
        }

        var data = Fmp4Writer.WriteFragment(++_fragments, runs);
        var lead = _tracks[_lead];
        var duration = _partUnits > 0
            ? (double)_partUnits / lead.Timescale
            : Enumerable.Range(0, _tracks.Length).Max(m => (double)_samples[m].Sum(s => s.Duration) / _tracks[m].Timescale);
        if (_open is null)
        {
            _open = new HlsSegment(_nextSequence++, Stream.TimelineOrigin + _partStart!.Value, _initVersion, _nextDiscontinuity);
            _nextDiscontinuity = false;
            _listed.Add(_open);
        }

        _open.Add(new HlsPart(_open.Parts.Count, data, duration, _partIndependent));
        foreach (var samples in _samples)
        {
            foreach (var sample in samples)
            {
                sample.Unit.Release();
            }

            samples.Clear();
        }

        _partUnits = 0;
        _partIndependent = false;
        Publish();
    }

    private void CloseSegment(bool fromCache = false)
    {
        ClosePart();
        if (_open is null)
        {
            return;
        }

        _open.Complete(fromCache);
        _open = null;
        _segmentUnits = 0;
        while (_listed.Count(s => s.IsComplete) > _config.SegmentCount)
        {
            _expired.Add(_listed[0]);
            _listed.RemoveAt(0);
            if (_listed.Count > 0 && _listed[0].Discontinuity)
            {
                _discontinuitySequence++; // its EXT-X-DISCONTINUITY tag left the playlist
            }
        }

        // Removed segments stay fetchable for a while (players that loaded the playlist just before).
        while (_expired.Count > _config.SegmentCount)
        {
            _expired.RemoveAt(0);
        }

        var oldest = _expired.Concat(_listed).Select(s => s.InitVersion).DefaultIfEmpty(_initVersion).Min();
        foreach (var version in _inits.Keys.Where(v => v < oldest).ToList())
        {
            _inits.Remove(version);
        }

        Publish();
    }

    private void Restart(bool flushPending)
    {
        if (flushPending)
        {
            FlushPending();
        }
        else
        {
            DropPending();
        }

        CloseSegment();
        _started = false;
        _reconfigure = false;
        _awaitKeyframe = true;
        _firstKeyframe = null;
        _nextDiscontinuity = _nextSequence > 0;
    }

    private bool TryStart(AccessUnit keyframe)
    {
        var candidates = Candidates();
        _firstKeyframe ??= keyframe.Dts;
        var waited = keyframe.Dts - _firstKeyframe.Value;
        var muxable = candidates.Where(i => Fmp4Track.Unsupported(_streamTracks[i]) is null).ToList();
        if (!muxable.Contains(keyframe.TrackIndex) || (muxable.Count < candidates.Count && waited < ConfigurationWait))
        {
            return false; // wait for the parameters (an AAC track's config arrives with its first frame)
        }

        LogLeftOut(muxable);
        _sourceSwitches = Stream.SourceSwitches;
        _tracks = [.. muxable.Select((index, i) => Fmp4Track.Create(i + 1, _streamTracks[index]))];
        _muxedIndex = Enumerable.Repeat(-1, _streamTracks.Length).ToArray();
        for (var i = 0; i < muxable.Count; i++)
        {
            _muxedIndex[muxable[i]] = i;
        }

        _lead = _muxedIndex[keyframe.TrackIndex];
        _pending = new Pending[_tracks.Length];
        _samples = [.. _tracks.Select(_ => new List<Fmp4Sample>())];
        _lastDuration = [.. _tracks.Select((_, m) => NominalDuration(m))];
        _alignToLead = new bool[_tracks.Length];
        _inits[++_initVersion] = Fmp4Writer.WriteInit(_tracks);
        if (_origin is null)
        {
            _origin = keyframe.Dts;
            ChooseTargets();
        }

        _started = true;
        _awaitKeyframe = false;
        return true;
    }

    private void ChooseTargets()
    {
        // Part target: whole frames of the lead track, close to the configured part duration (parts but the last of
        // a segment must be at least 85 % of PART-TARGET, and none longer). Cameras' frame times jitter, so
        // PART-TARGET is half a frame above the nominal cut: parts stay within both bounds.
        var lead = _tracks[_lead];
        var frame = NominalDuration(_lead);
        var frames = Math.Max(1, (long)Math.Round(_config.PartDuration.TotalSeconds * lead.Timescale / frame));
        _partTargetUnits = frames * frame;
        _partLimitUnits = _partTargetUnits + (frame / 2);
        _partTarget = HlsPlaylist.CeilingSeconds((double)_partLimitUnits / lead.Timescale);

        // Target duration: segments end at the first keyframe after SegmentDuration, so they last whole GOPs. It is
        // settled once the GOP is known (here, or from the first segment that runs keyframe to keyframe), because a
        // playlist's target duration must never change.
        SettleTargetDuration(Stream.Statistics.KeyframeInterval.TotalSeconds);
    }

    private void SettleTargetDuration(double gop)
    {
        if (_targetDuration > 0 || gop <= 0.05)
        {
            return;
        }

        var minimum = _config.SegmentDuration.TotalSeconds;
        var expected = Math.Ceiling((minimum / gop) - 0.05) * gop;
        _targetDuration = Math.Max(1, (int)Math.Round(expected + 0.3, MidpointRounding.AwayFromZero));
    }

    /// <summary>Gets the target duration, settling it now if the GOP is still unknown (used once a playlist is written).</summary>
    private int TargetDuration()
    {
        SettleTargetDuration(Stream.Statistics.KeyframeInterval.TotalSeconds);
        SettleTargetDuration(Math.Max(_config.SegmentDuration.TotalSeconds, 2));
        return _targetDuration;
    }

    private int TargetDurationUnlocked()
    {
        lock (_gate)
        {
            return TargetDuration();
        }
    }

    /// <summary>The stream tracks to mux: the anchor video (H.264/H.265) and the first AAC or Opus audio track.</summary>
    private List<int> Candidates()
    {
        var result = new List<int>(2);
        if (_anchor >= 0 && _anchor < _streamTracks.Length && _streamTracks[_anchor].Codec is Codec.H264 or Codec.H265)
        {
            result.Add(_anchor);
        }

        var audio = Array.FindIndex(_streamTracks, t => t.Kind == MediaKind.Audio && t.Codec is Codec.Aac or Codec.Opus);
        if (audio >= 0)
        {
            result.Add(audio);
        }

        return result;
    }

    private int LeadCandidate() => Candidates() is { Count: > 0 } candidates ? candidates[0] : -1;

    private bool SameTracks(List<int> candidates)
    {
        var muxable = candidates.Where(i => Fmp4Track.Unsupported(_streamTracks[i]) is null).ToList();
        if (muxable.Count != _tracks.Length)
        {
            return false;
        }

        for (var i = 0; i < muxable.Count; i++)
        {
            var now = _streamTracks[muxable[i]];
            var was = _tracks[i].Info;
            if (now.Index != was.Index || now.Codec != was.Codec || now.Channels != was.Channels
                || !now.Sps.Span.SequenceEqual(was.Sps.Span) || !now.Pps.Span.SequenceEqual(was.Pps.Span)
                || !now.Vps.Span.SequenceEqual(was.Vps.Span) || !now.AudioConfig.Span.SequenceEqual(was.AudioConfig.Span))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Tells whether the segment being built began with a keyframe (its first part, published or not).</summary>
    private bool SegmentStartsWithKeyframe() =>
        _open is not null ? _open.Independent : _samples[_lead].Count == 0 || _partIndependent;

    private int MuxedIndex(int streamTrack) => (uint)streamTrack < (uint)_muxedIndex.Length ? _muxedIndex[streamTrack] : -1;

    /// <summary>Gets a track's usual sample duration in its timescale (used before one is measured).</summary>
    private long NominalDuration(int m)
    {
        var track = _tracks[m];
        return track.Info.Codec switch
        {
            Codec.Aac => 1024,
            Codec.Opus => 960,
            _ when track.Info.FrameRate is > 0 and var fps => Math.Max(1, (long)Math.Round(track.Timescale / fps)),
            _ => track.Timescale / 25,
        };
    }

    private TimeSpan LeadFrameDuration() => TimeSpan.FromTicks((long)((double)_lastDuration[_lead] / _tracks[_lead].Timescale * TimeSpan.TicksPerSecond));

    /// <summary>Gets the pause in the stream timeline that counts as an outage: a second, or four frames of a slow camera.</summary>
    private TimeSpan GapThreshold()
    {
        var frames = LeadFrameDuration() * 4;
        return frames > MinimumGap ? frames : MinimumGap;
    }

    private int MaxPartsPerSegment() => _partTargetUnits <= 0 || _tracks.Length == 0
        ? 0
        : (int)Math.Ceiling((TargetDuration() + 0.5) * _tracks[_lead].Timescale / _partTargetUnits);

    private int AdvancePartLimit() => _partTarget is > 0 and < 1 ? (int)Math.Ceiling(3 / _partTarget) : 3;

    private HlsSegment? Find(long sequence) =>
        _listed.Find(s => s.Sequence == sequence) ?? _expired.Find(s => s.Sequence == sequence);

    /// <summary>Tells whether the playlist holds segment <paramref name="msn"/> (complete, or up to part <paramref name="part"/>), or later.</summary>
    private bool Contains(long msn, int? part)
    {
        if (_listed.Count == 0)
        {
            return false;
        }

        var last = _listed[^1];
        if (last.Sequence > msn)
        {
            return true;
        }

        return last.Sequence == msn && (last.IsComplete || (part is { } p && last.Parts.Count > p));
    }

    /// <summary>Tells whether a part exists, or that it never will (its segment ended, expired, or it is too far ahead).</summary>
    private bool PartSettled(long sequence, int index)
    {
        if (Find(sequence) is { } segment)
        {
            return index < segment.Parts.Count || segment.IsComplete || index > segment.Parts.Count + AdvancePartLimit();
        }

        return sequence != _nextSequence || index > AdvancePartLimit();
    }

    private async Task<bool> WaitForAsync(Func<bool> condition, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var started = _time.GetTimestamp();
        while (true)
        {
            Task changed;
            lock (_gate)
            {
                if (condition())
                {
                    return true;
                }

                if (_ended)
                {
                    return false;
                }

                changed = _changed.Task;
            }

            var remaining = timeout - _time.GetElapsedTime(started);
            if (remaining <= TimeSpan.Zero)
            {
                return false;
            }

            try
            {
                await changed.WaitAsync(remaining, _time, cancellationToken);
            }
            catch (TimeoutException)
            {
                return false;
            }
        }
    }

    private void Publish()
    {
        _playlist = null;
        var changed = _changed;
        _changed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        changed.TrySetResult();
    }

    private void DropPending()
    {
        for (var m = 0; m < _pending.Length; m++)
        {
            _pending[m].Unit?.Release();
            _pending[m] = default;
        }

        foreach (var samples in _samples)
        {
            foreach (var sample in samples)
            {
                sample.Unit.Release();
            }

            samples.Clear();
        }

        _partUnits = 0;
    }

    private void LogLeftOut(List<int> muxed)
    {
        if (_loggedLeftOut)
        {
            return;
        }

        _loggedLeftOut = true;
        foreach (var track in _streamTracks.Where(t => !muxed.Contains(t.Index)))
        {
            Log.TrackLeftOut(_logger, Stream.Name, track.ToString(), Fmp4Track.Unsupported(track) ?? "only one video and one audio track are carried");
        }
    }

    /// <summary>A unit waiting for the next one of its track, which gives its duration.</summary>
    private record struct Pending(AccessUnit? Unit, long Decode, int Composition, bool IsSync);

    private static partial class Log
    {
        [LoggerMessage(EventIds.HlsTrackLeftOut, LogLevel.Information, "Stream {Stream}: track {Track} is left out of HLS: {Reason}.")]
        public static partial void TrackLeftOut(ILogger logger, string stream, string track, string reason);

        [LoggerMessage(EventIds.HlsMuxFailed, LogLevel.Warning, "Stream {Stream}: HLS muxing failed; it starts again at the next keyframe.")]
        public static partial void MuxFailed(ILogger logger, string stream, Exception exception);
    }
}

/// <summary>A player of an HLS stream, known by its address (HLS has no sessions).</summary>
internal sealed class HlsViewer(IPAddress address, DateTimeOffset since)
{
    private long _bytes;
    private long _lastSeen;

    public IPAddress Address { get; } = address;

    public DateTimeOffset Since { get; } = since;

    public long Bytes => Interlocked.Read(ref _bytes);

    public long LastSeen => Interlocked.Read(ref _lastSeen);

    public void Seen(long timestamp, long bytes)
    {
        Interlocked.Add(ref _bytes, bytes);
        Interlocked.Exchange(ref _lastSeen, timestamp);
    }
}
