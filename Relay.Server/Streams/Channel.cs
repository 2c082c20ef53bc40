using Microsoft.Extensions.Logging;
using Relay.Configuration;
using Relay.Media;

namespace Relay.Server.Streams;

/// <summary>
/// A channel: a stream hub of its own (<see cref="Hub"/>, served on every output under the channel's name) whose
/// media is another stream's, and which can be switched to another stream while its readers stay connected.
/// </summary>
/// <remarks>
/// <para>
/// The channel follows its stream as a subscriber. Switching leaves the old stream and joins the new one, whose
/// cached GOP arrives at once (keyframe first): for the output hub that is a new epoch, so readers continue on one
/// timeline (RTP sequence numbers and timestamps run on) with the new camera's parameter sets in band, and when the
/// codecs differ the hub closes its readers with the reason logged, as for a camera whose codec changed.
/// </para>
/// <para>
/// Units are copied into the channel (the output hub rewrites timestamps onto its own timeline, and the followed
/// stream's units are shared with its own readers). While anyone holds a lease on the channel, the channel holds one
/// on the stream it follows, so an on-demand camera is pulled while a channel showing it is watched.
/// </para>
/// </remarks>
internal sealed class Channel : IStreamSubscriber, IDisposable
{
    /// <summary>The spacing of the cached GOP's frames replayed at a switch.</summary>
    private static readonly TimeSpan BurstSpacing = TimeSpan.FromMilliseconds(1);

    private readonly Lock _switch = new(); // orders switches, lease changes and disposal
    private StreamHub? _source; // guarded by _switch
    private StreamHub? _lastSource; // guarded by _switch: the last stream followed, kept while none is
    private IDisposable? _sourceLease; // guarded by _switch
    private TrackInfo[] _tracks = []; // the followed stream's tracks as last forwarded; touched on its delivery thread
    private bool _epochStarted; // whether the output began an epoch for the followed stream; touched on its delivery thread
    private long _switches;
    private bool _disposed;

    public Channel(ChannelConfig config, TimeProvider time, ILogger logger)
    {
        Config = config;
        Hub = new StreamHub(new StreamConfig { Name = config.Name, Source = new Uri("channel:" + Uri.EscapeDataString(config.Stream)) }, time, logger);
        Hub.LeasesChanged += _ => SyncLease();
    }

    /// <summary>Gets the hub readers of the channel read from.</summary>
    public StreamHub Hub { get; }

    public string Name => Config.Name;

    /// <summary>Gets the channel's configuration (which stream it shows).</summary>
    public ChannelConfig Config { get; private set; }

    /// <summary>Gets the stream followed now; null while the configured stream does not exist.</summary>
    public StreamHub? Source
    {
        get
        {
            lock (_switch)
            {
                return _source;
            }
        }
    }

    /// <summary>Gets how many times the channel switched from one stream to another.</summary>
    public long Switches => Interlocked.Read(ref _switches);

    /// <summary>Gets when the channel last switched, if it did.</summary>
    public DateTimeOffset? LastSwitch { get; private set; }

    /// <summary>
    /// Follows <paramref name="source"/> (the stream <paramref name="config"/> names, or null when there is none): the
    /// new stream's cached GOP reaches the channel's readers before this returns.
    /// </summary>
    /// <returns>True when the channel switched from one stream to another.</returns>
    public bool Follow(ChannelConfig config, StreamHub? source)
    {
        lock (_switch)
        {
            Config = config;
            if (_disposed || ReferenceEquals(source, _source))
            {
                return false;
            }

            var previous = _source;
            if (previous is not null)
            {
                previous.Unsubscribe(this); // no call from it after this returns
                _sourceLease?.Dispose();
                _sourceLease = null;
                Hub.OnEpochEnded();
            }

            _source = source;
            _epochStarted = false;
            _tracks = [];
            if (source is null)
            {
                return false;
            }

            Hub.UpdateConfig(source.Config with { Name = Name });
            if (_lastSource is not null && !ReferenceEquals(_lastSource, source))
            {
                Hub.NoteSourceSwitch(); // another camera from the next epoch on: HLS marks it with a discontinuity
            }

            _lastSource = source;

            if (Hub.Leases > 0)
            {
                _sourceLease = source.Lease();
            }

            try
            {
                source.Subscribe(this, StartAt.Keyframe);
            }
            catch (ObjectDisposedException)
            {
                _source = null; // removed meanwhile; the next reconciliation follows its successor
                _sourceLease?.Dispose();
                _sourceLease = null;
                return false;
            }

            if (previous is null)
            {
                return false;
            }

            Interlocked.Increment(ref _switches);
            LastSwitch = DateTimeOffset.UtcNow;
            return true;
        }
    }

    /// <inheritdoc />
    void IStreamSubscriber.OnAttached(IReadOnlyList<TrackInfo> tracks, int anchorTrack, IReadOnlyList<AccessUnit> gop)
    {
        if (tracks.Count == 0)
        {
            return; // the stream has had no media yet: its first epoch starts ours
        }

        StartEpoch(tracks);

        // The cached GOP (keyframe first) goes out at once, its frames 1 ms apart ending where the live ones go on:
        // readers decode up to the present in a blink instead of lagging by the GOP's age, and a switch adds no
        // delay to the timeline (it would add up over many switches). Audio joins live: it has nothing to catch up.
        var video = gop.Where(u => u.TrackIndex == anchorTrack).ToList();
        for (var i = 0; i < video.Count; i++)
        {
            var dts = video[^1].Dts - (BurstSpacing * (video.Count - 1 - i));
            Forward(video[i], dts, dts + (video[i].Pts - video[i].Dts));
        }
    }

    /// <inheritdoc />
    void IStreamSubscriber.OnAccessUnit(AccessUnit unit)
    {
        if (_epochStarted)
        {
            Forward(unit);
        }
    }

    /// <inheritdoc />
    void IStreamSubscriber.OnTracksChanged(IReadOnlyList<TrackInfo> tracks, int anchorTrack, bool codecChanged)
    {
        if (!_epochStarted || codecChanged || tracks.Count != _tracks.Length)
        {
            StartEpoch(tracks);
            return;
        }

        // The followed camera reconnected or sent new parameters: its own hub kept its timeline continuous.
        for (var i = 0; i < tracks.Count; i++)
        {
            if (tracks[i] != _tracks[i])
            {
                _tracks[i] = tracks[i];
                Hub.OnTrackChanged(tracks[i]);
            }
        }
    }

    /// <inheritdoc />
    void IStreamSubscriber.OnDetached()
    {
        // The followed stream is going away (called under its lock: take no lock of ours). Readers stay, paused;
        // the next reconciliation follows the stream's successor, if any.
        _epochStarted = false;
        Hub.OnEpochEnded();
    }

    /// <summary>Leaves the followed stream and closes the channel's readers.</summary>
    public void Dispose()
    {
        lock (_switch)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            _source?.Unsubscribe(this);
            _source = null;
            _sourceLease?.Dispose();
            _sourceLease = null;
        }

        Hub.Dispose();
    }

    private void StartEpoch(IReadOnlyList<TrackInfo> tracks)
    {
        _tracks = [.. tracks];
        _epochStarted = true;
        Hub.OnEpochStarted(_tracks);
    }

    private void Forward(AccessUnit unit) => Forward(unit, unit.Dts, unit.Pts);

    private void Forward(AccessUnit unit, TimeSpan dts, TimeSpan pts)
    {
        var copy = AccessUnit.Copy(unit.TrackIndex, unit.Data.Span, unit.IsKeyframe, pts, dts);
        copy.Marker = unit.Marker;
        Hub.OnAccessUnit(copy); // takes our reference
    }

    private void SyncLease()
    {
        lock (_switch)
        {
            if (Hub.Leases > 0 && _sourceLease is null && _source is not null && !_disposed)
            {
                _sourceLease = _source.Lease();
            }
            else if (Hub.Leases == 0 && _sourceLease is not null)
            {
                _sourceLease.Dispose();
                _sourceLease = null;
            }
        }
    }
}
