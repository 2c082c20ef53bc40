using System.Globalization;
using Microsoft.Extensions.Logging;
using Relay.Configuration;
using Relay.Media;
using Relay.Server.GStreamer;

namespace Relay.Server.Sources;

/// <summary>
/// An RTSP or RTSPS camera (or another relay), pulled with <c>rtspsrc</c>. Each SDP media section becomes a
/// track; each RTP pad gets a depayloader and parser chain ending in an appsink (see <see cref="IngestBranches"/>).
/// Credentials go into rtspsrc's user-id/user-pw properties, never into its location or our logs.
/// </summary>
internal sealed class RtspSource(StreamConfig config, TimeProvider time, ILogger logger) : ISource
{
    /// <inheritdoc />
    public string DisplayName { get; } = SourceUri.Redact(config.Source);

    /// <inheritdoc />
    public ISourceConnection Open(IMediaSink sink)
    {
        var session = new IngestSession(config.Source, sink, config.ConnectTimeout, config.StallTimeout, time, logger);
        var pipeline = Pipeline.Create($"ingest-{config.Name}", session.BusCallback);
        try
        {
            var src = Element.Make("rtspsrc", "src");
            session.Own(src);
            Configure(src);
            var linker = new PadLinker(pipeline, session);
            src.OnSdp(linker.OnSdp);
            src.OnPadAdded(linker.OnPadAdded);
            pipeline.Add(src);
        }
        catch
        {
            pipeline.Dispose();
            throw;
        }

        session.Start(pipeline);
        return session;
    }

    private void Configure(Element src)
    {
        var (location, user, password) = SourceUri.SplitCredentials(config.Source);
        src.Set("location", location);
        if (user is not null)
        {
            src.Set("user-id", user);
        }

        if (password is not null)
        {
            src.Set("user-pw", password);
        }

        src.Set("protocols", config.Transport == SourceTransport.Udp ? "udp" : "tcp");
        src.Set("latency", ((long)config.EffectiveLatency.TotalMilliseconds).ToString(CultureInfo.InvariantCulture));

        // rtspsrc's timeouts are in microseconds. tcp-timeout bounds each RTSP exchange; timeout is how long
        // it waits for UDP packets. Our own watchdog bounds the whole attempt as well.
        var connectMicros = ((long)config.ConnectTimeout.TotalMicroseconds).ToString(CultureInfo.InvariantCulture);
        src.Set("tcp-timeout", connectMicros);
        src.Set("timeout", connectMicros);
        src.Set("do-retransmission", "false");

        // Timestamps from the camera's RTP clock only (no arrival-time skew estimation): readers get the camera's
        // own frame spacing, and the stream timeline maps each connection onto wall-clock time once.
        src.Set("buffer-mode", "none");
        src.Set("drop-on-latency", config.EffectiveLatency > TimeSpan.Zero ? "true" : "false");
        src.Set("teardown-timeout", "100000000"); // ns: 0.1 s, so stopping never waits on a dead camera

        // Over TCP with no latency asked for there is nothing to reorder or wait for: each track's packets get their
        // RTP-clock timestamps on rtspsrc's own thread instead of crossing to a jitter buffer's two threads.
        if (config.Transport != SourceTransport.Udp && config.EffectiveLatency == TimeSpan.Zero)
        {
            RtpTimestamper.UseFor(src);
        }
    }

    /// <summary>Links rtspsrc's dynamic pads; runs on GStreamer threads.</summary>
    private sealed class PadLinker(Pipeline pipeline, IngestSession session)
    {
        private volatile TrackInfo[] _tracks = [];

        public void OnSdp(string sdp)
        {
            var tracks = SdpTracks.Map(sdp);
            _tracks = tracks;
            session.PostTracks((TrackInfo[])tracks.Clone());
        }

        public void OnPadAdded(Pad pad)
        {
            // rtspsrc names its source pads recv_rtp_src_<stream>_<ssrc>_<pt>; <stream> is the SDP media index.
            var name = pad.Name;
            var tracks = _tracks;
            if (!TryParseStreamIndex(name, out var index) || index >= tracks.Length)
            {
                session.PostNote($"pad {name} matches no SDP media section");
                return;
            }

            var track = tracks[index];
            Element? bin = null;
            try
            {
                bin = Element.ParseBin(IngestBranches.For(track));
                pipeline.Add(bin);
                session.Own(bin);
                var appsink = bin.GetByName(IngestBranches.SinkName) ?? throw new GstException("branch has no appsink");
                session.OwnSink(appsink);
                AppSink.Attach(appsink, new TrackSampleHandler(session, index, track.Codec));
                bin.SyncStateWithParent();
                using var sinkPad = bin.GetStaticPad("sink") ?? throw new GstException("branch has no sink pad");
                pad.Link(sinkPad);
            }
            catch (GstException e)
            {
                session.PostNote($"track {track}: {e.Message}");
            }
        }

        private static bool TryParseStreamIndex(string padName, out int index)
        {
            index = -1;
            const string prefix = "recv_rtp_src_";
            if (!padName.StartsWith(prefix, StringComparison.Ordinal))
            {
                return false;
            }

            var rest = padName.AsSpan(prefix.Length);
            var underscore = rest.IndexOf('_');
            return int.TryParse(underscore < 0 ? rest : rest[..underscore], NumberStyles.Integer, CultureInfo.InvariantCulture, out index);
        }
    }
}
