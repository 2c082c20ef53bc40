using Relay.Configuration;
using Relay.Media;
using Relay.Server.Rtp;
using Relay.Server.Streams;

namespace Relay.Server.Rtsp;

/// <summary>
/// A stream as the RTSP server serves it: each access unit is packetized <b>once</b> into an
/// <see cref="RtpFrame"/> (one SSRC, sequence and timestamp space per track) and offered to every playing session's
/// queue. A new session gets the cached GOP first (SPS/PPS, keyframe, then what followed, with their original
/// sequence numbers, so the stream stays continuous), then live frames. The GOP cache holds hollow frames (the access
/// units the stream caches anyway, and their packets' numbers), filled when a session joins: one copy of a camera's
/// GOP in memory, not two. Subscribed to its <see cref="StreamHub"/> for as long as the stream exists.
/// </summary>
internal sealed class RtspMedia : IStreamSubscriber, IDisposable
{
    private readonly Lock _gate = new(); // taken inside the stream's lock when the stream calls us
    private readonly RtspServerConfig _config;
    private readonly TimeProvider _time;
    private readonly GopCache<RtpFrame> _gop; // guarded by _gate
    private RtpTrack[] _tracks = []; // guarded by _gate
    private RtpPacketizer[] _packetizers = []; // guarded by _gate
    private RtspSession[] _playing = []; // guarded by _gate; copy-on-write
    private TrackInfo[] _info = []; // guarded by _gate
    private int _anchor = -1; // guarded by _gate
    private bool _ended;
    private long _tcpBytes;
    private long _udpBytes;
    private long _tcpDropped;
    private long _udpDropped;

    private readonly UdpTransport? _udp;
    private UdpBatch? _batch; // guarded by _gate; made when the first UDP reader plays
    private int _udpPlaying; // guarded by _gate: how many of _playing are UDP readers

    public RtspMedia(StreamHub stream, RtspServerConfig config, TimeProvider time, UdpTransport? udp)
    {
        Stream = stream;
        _config = config;
        _udp = udp;
        _time = time;
        _gop = new GopCache<RtpFrame>(stream.Config.GopCacheMaxBytes, stream.Config.GopCacheMaxDuration);
        SdpSessionId = Random.Shared.NextInt64(1, long.MaxValue / 2);
    }

    public StreamHub Stream { get; }

    /// <summary>Gets the SDP session id (o= line), stable for this media.</summary>
    public long SdpSessionId { get; }

    /// <summary>Gets the SDP version, bumped whenever the tracks change.</summary>
    public long SdpVersion { get; private set; } = 1;

    /// <summary>Gets a value indicating whether the stream went away.</summary>
    public bool IsEnded => Volatile.Read(ref _ended);

    /// <summary>Gets the bytes sent to readers of this stream, by transport, since it was first served.</summary>
    public (long Tcp, long Udp) OutboundBytes => (Interlocked.Read(ref _tcpBytes), Interlocked.Read(ref _udpBytes));

    /// <summary>Gets the frames skipped for slow readers of ended sessions (live sessions report their own), by transport.</summary>
    public (long Tcp, long Udp) DroppedFramesOfEndedSessions => (Interlocked.Read(ref _tcpDropped), Interlocked.Read(ref _udpDropped));

    /// <summary>Counts bytes sent to one of this stream's readers.</summary>
    public void CountSent(bool tcp, long bytes) => Interlocked.Add(ref tcp ? ref _tcpBytes : ref _udpBytes, bytes);

    /// <summary>Keeps the skip count of a session that ends.</summary>
    public void CountDropped(bool tcp, long frames) => Interlocked.Add(ref tcp ? ref _tcpDropped : ref _udpDropped, frames);

    /// <summary>Gets the number of sessions playing.</summary>
    public int PlayingCount => Volatile.Read(ref _playing).Length;

    /// <summary>Gets the current tracks.</summary>
    public IReadOnlyList<TrackInfo> Tracks
    {
        get
        {
            lock (_gate)
            {
                return _info;
            }
        }
    }

    /// <summary>Gets the sender state of a track (for the SETUP response's ssrc).</summary>
    public RtpTrack? Track(int index)
    {
        lock (_gate)
        {
            return (uint)index < (uint)_tracks.Length ? _tracks[index] : null;
        }
    }

    /// <summary>Starts sending to <paramref name="session"/>: cached GOP (per <paramref name="startAt"/>), then live.</summary>
    /// <returns>For each of the session's tracks, the sequence number and RTP time of its first packet.</returns>
    public IReadOnlyList<(int Track, ushort Sequence, uint RtpTime)> Play(RtspSession session, StartAt startAt, FrameQueueOptions options)
    {
        lock (_gate)
        {
            session.BeginPlay(_anchor >= 0 && session.HasTrack(_anchor) ? _anchor : -1, options);
            var gop = startAt == StartAt.Keyframe ? _gop.Units : [];
            foreach (var frame in gop)
            {
                frame.Fill(_packetizers[frame.TrackIndex], _tracks[frame.TrackIndex]);
            }

            var info = new List<(int, ushort, uint)>();
            foreach (var index in session.TrackIndexes)
            {
                if ((uint)index >= (uint)_tracks.Length)
                {
                    continue;
                }

                var first = gop.FirstOrDefault(f => f.TrackIndex == index && !f.IsControl);
                info.Add(first is not null
                    ? (index, first.FirstSequence, first.FirstTimestamp)
                    : (index, _tracks[index].NextSequence, _tracks[index].CurrentTimestamp()));
            }

            foreach (var frame in gop)
            {
                session.Offer(frame);
            }

            if (Array.IndexOf(_playing, session) < 0)
            {
                SetPlaying([.. _playing, session]);
            }

            return info;
        }
    }

    /// <summary>Stops sending to <paramref name="session"/>; no frame is offered to it after this returns.</summary>
    public void Stop(RtspSession session)
    {
        lock (_gate)
        {
            var index = Array.IndexOf(_playing, session);
            if (index >= 0)
            {
                SetPlaying([.. _playing[..index], .. _playing[(index + 1)..]]);
            }
        }
    }

    /// <summary>Sends an RTCP sender report for every track that has sent, to every session playing it.</summary>
    public void SendReports()
    {
        lock (_gate)
        {
            if (_playing.Length == 0)
            {
                return;
            }

            Span<byte> buffer = stackalloc byte[128];
            var ntp = Rtcp.ToNtp(_time.GetUtcNow().UtcDateTime);
            foreach (var track in _tracks)
            {
                if (!track.HasSent)
                {
                    continue;
                }

                var length = Rtcp.WriteSenderReport(buffer, track.Ssrc, ntp, track.CurrentTimestamp(), (uint)track.PacketsSent, (uint)track.OctetsSent, "relay@" + Environment.MachineName);
                var frame = RtpFrame.Rent(track.Index, isKeyframe: false, TimeSpan.Zero, length + RtpFrame.InterleavedHeaderLength, isControl: true);
                frame.AppendRtcp(buffer[..length]);
                foreach (var session in _playing)
                {
                    session.Offer(frame);
                }

                frame.Release();
            }
        }
    }

    /// <inheritdoc />
    void IStreamSubscriber.OnAttached(IReadOnlyList<TrackInfo> tracks, int anchorTrack, IReadOnlyList<AccessUnit> gop)
    {
        lock (_gate)
        {
            Rebuild(tracks, anchorTrack);
            foreach (var unit in gop)
            {
                var frame = Packetize(unit);
                if (frame is not null)
                {
                    Cache(frame, unit);
                    frame.Release();
                }
            }
        }
    }

    /// <inheritdoc />
    void IStreamSubscriber.OnAccessUnit(AccessUnit unit)
    {
        lock (_gate)
        {
            var frame = Packetize(unit);
            if (frame is null)
            {
                return;
            }

            if (frame.IsKeyframe && frame.TrackIndex == _anchor)
            {
                _gop.SetBounds(Stream.Config.GopCacheMaxBytes, Stream.Config.GopCacheMaxDuration);
            }

            Cache(frame, unit);
            var batch = _udpPlaying == 0 || _udp is null ? null : _batch ??= new UdpBatch(_udp.RtpSocket);
            batch?.Begin(frame);
            try
            {
                foreach (var session in _playing)
                {
                    session.Offer(frame, batch);
                }
            }
            finally
            {
                batch?.Flush();
            }

            frame.Release();
        }
    }

    /// <inheritdoc />
    void IStreamSubscriber.OnTracksChanged(IReadOnlyList<TrackInfo> tracks, int anchorTrack, bool codecChanged)
    {
        RtspSession[] ended = [];
        lock (_gate)
        {
            if (codecChanged)
            {
                // Readers negotiated the old codec: close them; new readers get a new SDP.
                ended = _playing;
                SetPlaying([]);
                _gop.Clear();
                Rebuild(tracks, anchorTrack);
            }
            else
            {
                for (var i = 0; i < tracks.Count && i < _tracks.Length; i++)
                {
                    _tracks[i].Info = tracks[i];
                }

                _info = [.. tracks];
                _anchor = anchorTrack;
                _gop.AnchorTrack = anchorTrack;
            }

            SdpVersion++;
        }

        foreach (var session in ended)
        {
            session.End("the source's codec changed", closeConnection: true);
        }
    }

    /// <inheritdoc />
    void IStreamSubscriber.OnDetached()
    {
        RtspSession[] ended;
        lock (_gate)
        {
            Volatile.Write(ref _ended, true);
            ended = _playing;
            SetPlaying([]);
            _gop.Dispose();
            _batch?.Dispose();
            _batch = null;
        }

        foreach (var session in ended)
        {
            session.End("the stream was removed", closeConnection: true);
        }
    }

    /// <summary>Leaves the stream and drops the cache; sessions are ended by their owners.</summary>
    public void Dispose()
    {
        Stream.Unsubscribe(this);
        ((IStreamSubscriber)this).OnDetached();
    }

    private void SetPlaying(RtspSession[] playing)
    {
        _playing = playing;
        _udpPlaying = playing.Count(s => !s.IsTcp);
    }

    private void Rebuild(IReadOnlyList<TrackInfo> tracks, int anchorTrack)
    {
        _info = [.. tracks];
        _tracks = tracks.Select(t => new RtpTrack(t, Sdp.SdpBuilder.PayloadTypeFor(t))).ToArray();
        _packetizers = tracks.Select(t => RtpPacketizer.For(t, _config.Mtu)).ToArray();
        _anchor = anchorTrack;
        _gop.AnchorTrack = anchorTrack;
    }

    /// <summary>Keeps <paramref name="frame"/>, built from <paramref name="unit"/>, in the GOP cache as a hollow frame.</summary>
    private void Cache(RtpFrame frame, AccessUnit unit)
    {
        var hollow = RtpFrame.Hollow(frame, unit);
        _gop.Add(hollow);
        hollow.Release();
    }

    private RtpFrame? Packetize(AccessUnit unit)
    {
        if ((uint)unit.TrackIndex >= (uint)_tracks.Length || unit.Length == 0)
        {
            return null;
        }

        var packetizer = _packetizers[unit.TrackIndex];
        var frame = RtpFrame.Rent(unit.TrackIndex, unit.IsKeyframe, unit.Dts, packetizer.EstimateFrameSize(unit));
        packetizer.Packetize(unit, _tracks[unit.TrackIndex], frame);
        if (frame.PacketCount == 0)
        {
            frame.Release();
            return null;
        }

        return frame;
    }
}
