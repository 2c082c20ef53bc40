using Relay.Configuration;
using Relay.Media;
using Relay.Server.GStreamer;
using Relay.Server.Hls;
using Relay.Server.Mjpeg;
using Relay.Server.Metrics;
using Relay.Server.Rtsp;

namespace Relay.Server.Hosting;

/// <summary>
/// Fills Relay's per-stream metrics from snapshots just before each scrape: stream state, readers (RTSP, HLS, MJPEG),
/// cumulative byte and frame counts, reconnects, RTCP reports. Only cached state is read; nothing calls into GStreamer.
/// </summary>
internal sealed class MetricsCollector
{
    private readonly RelayMetrics _metrics;
    private readonly StreamRegistry _registry;
    private readonly RtspServer _rtsp;
    private readonly HlsServer _hls;
    private readonly MjpegServer _mjpeg;
    private HashSet<(string Stream, string Target)> _pushSeries = []; // the push series of the last scrape

    public MetricsCollector(RelayMetrics metrics, StreamRegistry registry, RtspServer rtsp, HlsServer hls, MjpegServer mjpeg)
    {
        _metrics = metrics;
        _registry = registry;
        _rtsp = rtsp;
        _hls = hls;
        _mjpeg = mjpeg;
        foreach (var protocol in RelayMetrics.Protocols)
        {
            // Histograms appear once they have a child; create them so the series exist before the first reader.
            metrics.TimeToFirstFrame.WithLabels(protocol);
        }

        metrics.Registry.AddBeforeCollectCallback(Collect);
    }

    /// <summary>The push targets' series, by stream and target name (never the URL); those of removed targets go.</summary>
    private void CollectPush()
    {
        var seen = new HashSet<(string Stream, string Target)>();
        foreach (var pulled in _registry.Streams)
        {
            foreach (var pusher in pulled.Pushers)
            {
                var (stream, target) = (pulled.Name, pusher.Target.Name);
                seen.Add((stream, target));
                _metrics.PushUp.WithLabels(stream, target).Set(pusher.IsPushing ? 1 : 0);
                _metrics.PushBytes.WithLabels(stream, target).IncTo(pusher.Bytes);
                _metrics.PushReconnects.WithLabels(stream, target).IncTo(pusher.Reconnects);
            }
        }

        foreach (var (stream, target) in _pushSeries.Except(seen))
        {
            _metrics.PushUp.RemoveLabelled(stream, target);
            _metrics.PushBytes.RemoveLabelled(stream, target);
            _metrics.PushReconnects.RemoveLabelled(stream, target);
        }

        _pushSeries = seen;
    }

    private void Collect()
    {
        var sessions = _rtsp.Sessions.ToLookup(s => s.Media.Stream.Name, StringComparer.OrdinalIgnoreCase);
        var media = _rtsp.Media.ToDictionary(m => m.Stream.Name, StringComparer.OrdinalIgnoreCase);
        foreach (var pulled in _registry.Streams)
        {
            var name = pulled.Name;
            var stream = pulled.Hub;
            var status = pulled.Status;
            var statistics = stream.Statistics;
            _metrics.StreamUp.WithLabels(name).Set(stream.IsOnline ? 1 : 0);
            foreach (var state in Enum.GetValues<StreamState>().Where(s => s != StreamState.Elsewhere))
            {
                _metrics.StreamState.WithLabels(name, RelayMetrics.State(state)).Set(state == status.State ? 1 : 0);
            }

            var streamSessions = sessions[name].ToList();
            _metrics.Readers.WithLabels(name, RelayMetrics.Protocol(tcp: true)).Set(streamSessions.Count(s => s.IsTcp));
            _metrics.Readers.WithLabels(name, RelayMetrics.Protocol(tcp: false)).Set(streamSessions.Count(s => !s.IsTcp));
            _metrics.InboundBytes.WithLabels(name).IncTo(statistics.Bytes);
            foreach (var kind in Enum.GetValues<MediaKind>())
            {
                _metrics.InboundFrames.WithLabels(name, RelayMetrics.Kind(kind)).IncTo(stream.FramesOf(kind));
            }

            _metrics.KeyframeInterval.WithLabels(name).Set(statistics.KeyframeInterval.TotalSeconds);
            _metrics.LastFrameAge.WithLabels(name).Set(statistics.LastUnitAge?.TotalSeconds ?? double.NaN);
            _metrics.ConnectDuration.WithLabels(name);

            var reasons = pulled.ReconnectsByReason;
            foreach (var error in Enum.GetValues<RelayError>())
            {
                _metrics.Reconnects.WithLabels(name, RelayMetrics.Reason(error)).IncTo(reasons.GetValueOrDefault(error));
            }

            _metrics.AuthFailures.WithLabels(name).IncTo(reasons.GetValueOrDefault(RelayError.SourceUnauthorized));

            var (tcpBytes, udpBytes) = media.TryGetValue(name, out var m) ? m.OutboundBytes : (0, 0);
            var (tcpDropped, udpDropped) = m?.DroppedFramesOfEndedSessions ?? (0, 0);
            _metrics.OutboundBytes.WithLabels(name, RelayMetrics.Protocol(tcp: true)).IncTo(tcpBytes);
            _metrics.OutboundBytes.WithLabels(name, RelayMetrics.Protocol(tcp: false)).IncTo(udpBytes);
            _metrics.DroppedFrames.WithLabels(name, RelayMetrics.Protocol(tcp: true)).IncTo(tcpDropped + streamSessions.Where(s => s.IsTcp).Sum(s => s.SkippedFrames));
            _metrics.DroppedFrames.WithLabels(name, RelayMetrics.Protocol(tcp: false)).IncTo(udpDropped + streamSessions.Where(s => !s.IsTcp).Sum(s => s.SkippedFrames));

            double fractionLost = 0, jitter = 0;
            var tracks = stream.Tracks;
            foreach (var session in streamSessions)
            {
                foreach (var (track, report) in session.ReceiverReportsSnapshot)
                {
                    fractionLost = Math.Max(fractionLost, report.FractionLost);
                    var rate = track < tracks.Count ? tracks[track].ClockRate : 90000;
                    jitter = Math.Max(jitter, report.Jitter / (double)Math.Max(1, rate));
                }
            }

            var muxer = _hls.Find(stream);
            _metrics.Readers.WithLabels(name, RelayMetrics.Hls).Set(muxer?.Viewers(HlsServer.ViewerWindow).Count ?? 0);
            _metrics.HlsBytesHeld.WithLabels(name).Set(muxer?.BytesHeld ?? 0);
            _metrics.OutboundBytes.WithLabels(name, RelayMetrics.Hls).IncTo(_hls.BytesSent(name));
            var (mjpegBytes, mjpegSkipped) = _mjpeg.Totals(name);
            _metrics.Readers.WithLabels(name, RelayMetrics.Mjpeg).Set(_mjpeg.ViewersOf(name).Count);
            _metrics.OutboundBytes.WithLabels(name, RelayMetrics.Mjpeg).IncTo(mjpegBytes);
            _metrics.DroppedFrames.WithLabels(name, RelayMetrics.Mjpeg).IncTo(mjpegSkipped);

            _metrics.ReaderFractionLost.WithLabels(name).Set(fractionLost);
            _metrics.ReaderJitter.WithLabels(name).Set(jitter);
        }

        CollectPush();
        _metrics.RtspConnections.Set(_rtsp.ConnectionCount);
        _metrics.CallbackFailures.IncTo(NativeCallbacks.FailureCount);
    }
}
