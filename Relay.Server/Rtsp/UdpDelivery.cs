using Relay.Server.Rtp;
using Relay.Server.Streams;

namespace Relay.Server.Rtsp;

/// <summary>
/// UDP delivery: each frame's packets go from the server's RTP socket to the reader's ports on the delivering
/// thread, added to that thread's sendmmsg batch, and RTCP sender reports from the RTCP socket. Every send is
/// non-blocking: a reader whose packets do not fit the socket buffer loses them, as UDP allows, and never holds up
/// the delivering thread. Delivery starts at a keyframe, after the PLAY response.
/// </summary>
internal sealed class UdpDelivery(RtspSession session, UdpTransport udp) : SessionDelivery
{
    private readonly Lock _gate = new();
    private Dictionary<int, TrackTransport>? _targets; // guarded by _gate; null when not playing
    private List<RtpFrame>? _pending; // guarded by _gate: frames held between PLAY and its response
    private long _pendingBytes; // guarded by _gate
    private FrameQueueOptions _pendingLimit = FrameQueueOptions.Default; // guarded by _gate
    private int _syncTrack = -1; // guarded by _gate
    private bool _awaitingSync; // guarded by _gate
    private long _skipped; // guarded by _gate

    /// <inheritdoc />
    public override bool IsPlaying
    {
        get
        {
            lock (_gate)
            {
                return _targets is not null;
            }
        }
    }

    /// <inheritdoc />
    public override long Skipped
    {
        get
        {
            lock (_gate)
            {
                return _skipped;
            }
        }
    }

    /// <inheritdoc />
    public override void Offer(RtpFrame frame, UdpBatch? batch)
    {
        lock (_gate)
        {
            if (_targets is null)
            {
                return;
            }

            if (_awaitingSync)
            {
                if (frame.IsControl || !frame.IsKeyframe || (_syncTrack >= 0 && frame.TrackIndex != _syncTrack))
                {
                    _skipped++;
                    return;
                }

                _awaitingSync = false;
            }

            if (_pending is not null)
            {
                // Between PLAY and its response: hold frames so none arrives before the response. A response that
                // does not go out (a client that reads nothing) must not make this grow: past the reader queue's
                // bounds, everything held is dropped and delivery starts again at the next keyframe.
                if (_pending.Count >= _pendingLimit.MaxFrames || _pendingBytes + frame.Length > _pendingLimit.MaxBytes)
                {
                    _skipped += _pending.Count + 1;
                    ReleasePendingLocked();
                    _pending = [];
                    _awaitingSync = true;
                    return;
                }

                frame.AddRef();
                _pending.Add(frame);
                _pendingBytes += frame.Length;
                return;
            }

            SendLocked(frame, batch);
        }
    }

    /// <inheritdoc />
    public override void BeginPlay(IReadOnlyList<TrackTransport> transports, int syncTrack, FrameQueueOptions options)
    {
        lock (_gate)
        {
            ReleasePendingLocked();
            _targets = transports.Where(t => t.Track < 32).ToDictionary(t => t.Track);
            _syncTrack = syncTrack;
            _awaitingSync = true;
            _pending = [];
            _pendingLimit = options;
        }
    }

    /// <inheritdoc />
    public override void StartSending()
    {
        lock (_gate)
        {
            if (_pending is null)
            {
                return;
            }

            foreach (var frame in _pending)
            {
                SendLocked(frame, batch: null);
                frame.Release();
            }

            _pending = null;
            _pendingBytes = 0;
        }
    }

    /// <inheritdoc />
    public override void Stop()
    {
        lock (_gate)
        {
            ReleasePendingLocked();
            _targets = null;
        }
    }

    private void ReleasePendingLocked()
    {
        foreach (var frame in _pending ?? [])
        {
            frame.Release();
        }

        _pending = null;
        _pendingBytes = 0;
    }

    private void SendLocked(RtpFrame frame, UdpBatch? batch)
    {
        if (!_targets!.TryGetValue(frame.TrackIndex, out var transport))
        {
            return;
        }

        var (sent, bytes) = batch is not null && !frame.IsControl
            ? batch.Add(transport.RtpTarget!)
            : udp.Send(frame, frame.IsControl ? transport.RtcpTarget! : transport.RtpTarget!, frame.IsControl);
        session.CountSent(sent, bytes);
    }
}
