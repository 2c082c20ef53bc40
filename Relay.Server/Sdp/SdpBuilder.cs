using System.Globalization;
using System.Text;
using Relay.Media;
using Relay.Server.Codecs;

namespace Relay.Server.Sdp;

/// <summary>Writes the SDP (RFC 8866) that DESCRIBE returns for a stream's tracks.</summary>
internal static class SdpBuilder
{
    /// <summary>The control attribute of track <paramref name="index"/>, relative to Content-Base.</summary>
    public static string TrackControl(int index) => $"trackID={index.ToString(CultureInfo.InvariantCulture)}";

    /// <summary>Chooses the payload type Relay sends a track with.</summary>
    public static byte PayloadTypeFor(TrackInfo track) => track.Codec switch
    {
        Codec.Pcmu when track.ClockRate == 8000 && track.Channels <= 1 => 0,
        Codec.Pcma when track.ClockRate == 8000 && track.Channels <= 1 => 8,
        Codec.Passthrough when track.PayloadType is >= 0 and < 96 => (byte)track.PayloadType.Value,
        _ => (byte)(96 + Math.Min(track.Index, 31)),
    };

    /// <summary>Builds the session description.</summary>
    /// <param name="name">The stream name (session name).</param>
    /// <param name="tracks">The stream's tracks.</param>
    /// <param name="sessionId">The o= session id (stable for the stream).</param>
    /// <param name="version">The o= version (changes when the tracks change).</param>
    /// <param name="serverAddress">The address the request came in on, for the o= line.</param>
    public static string Build(string name, IReadOnlyList<TrackInfo> tracks, long sessionId, long version, string serverAddress)
    {
        var inv = CultureInfo.InvariantCulture;
        var family = serverAddress.Contains(':', StringComparison.Ordinal) ? "IP6" : "IP4";
        var sb = new StringBuilder();
        sb.Append(inv, $"v=0\r\no=- {sessionId} {version} IN {family} {serverAddress}\r\ns={Sanitize(name)}\r\n");
        sb.Append(inv, $"c=IN {family} {(family == "IP6" ? "::" : "0.0.0.0")}\r\nt=0 0\r\na=tool:Relay\r\na=range:npt=0-\r\na=control:*\r\n");
        foreach (var track in tracks)
        {
            var pt = PayloadTypeFor(track);
            var media = track.Kind switch
            {
                MediaKind.Video => "video",
                MediaKind.Audio => "audio",
                _ => "application",
            };
            sb.Append(inv, $"m={media} 0 RTP/AVP {pt}\r\n");
            var (rtpmap, fmtp) = Describe(track);
            if (rtpmap is not null)
            {
                sb.Append(inv, $"a=rtpmap:{pt} {rtpmap}\r\n");
            }

            if (!string.IsNullOrEmpty(fmtp))
            {
                sb.Append(inv, $"a=fmtp:{pt} {fmtp}\r\n");
            }

            if (track.Kind == MediaKind.Video && track.FrameRate is { } fps)
            {
                sb.Append(inv, $"a=framerate:{fps:0.###}\r\n");
            }

            if (track.Kind == MediaKind.Video && track.Width is { } w && track.Height is { } h)
            {
                sb.Append(inv, $"a=framesize:{pt} {w}-{h}\r\n");
            }

            sb.Append(inv, $"a=control:{TrackControl(track.Index)}\r\n");
        }

        return sb.ToString();
    }

    private static (string? RtpMap, string? Fmtp) Describe(TrackInfo track)
    {
        var inv = CultureInfo.InvariantCulture;
        switch (track.Codec)
        {
            case Codec.H264:
                var fmtp = "packetization-mode=1";
                if (!track.Sps.IsEmpty)
                {
                    try
                    {
                        fmtp += $";profile-level-id={H264.ParseSps(track.Sps.Span).ProfileLevelId}";
                    }
                    catch (FormatException)
                    {
                        // Leave profile-level-id out rather than guess.
                    }
                }

                if (!track.Sps.IsEmpty && !track.Pps.IsEmpty)
                {
                    fmtp += $";sprop-parameter-sets={Convert.ToBase64String(track.Sps.Span)},{Convert.ToBase64String(track.Pps.Span)}";
                }

                return ("H264/90000", fmtp);
            case Codec.H265:
                var parts = new List<string>();
                if (!track.Vps.IsEmpty)
                {
                    parts.Add($"sprop-vps={Convert.ToBase64String(track.Vps.Span)}");
                }

                if (!track.Sps.IsEmpty)
                {
                    parts.Add($"sprop-sps={Convert.ToBase64String(track.Sps.Span)}");
                }

                if (!track.Pps.IsEmpty)
                {
                    parts.Add($"sprop-pps={Convert.ToBase64String(track.Pps.Span)}");
                }

                return ("H265/90000", string.Join(';', parts));
            case Codec.Aac:
                var channels = Math.Max(1, track.Channels);
                var config = track.AudioConfig.IsEmpty ? string.Empty : $";config={Convert.ToHexString(track.AudioConfig.Span)}";
                return (
                    string.Create(inv, $"MPEG4-GENERIC/{track.ClockRate}/{channels}"),
                    $"streamtype=5;profile-level-id=1;mode=AAC-hbr;sizelength=13;indexlength=3;indexdeltalength=3{config}");
            case Codec.Pcmu:
                return (string.Create(inv, $"PCMU/{track.ClockRate}{(track.Channels > 1 ? $"/{track.Channels}" : string.Empty)}"), null);
            case Codec.Pcma:
                return (string.Create(inv, $"PCMA/{track.ClockRate}{(track.Channels > 1 ? $"/{track.Channels}" : string.Empty)}"), null);
            case Codec.Opus:
                return ("opus/48000/2", track.Channels == 2 ? "sprop-stereo=1" : null);
            default:
                var encoding = track.EncodingName ?? "unknown";
                var map = string.Create(inv, $"{encoding}/{track.ClockRate}{(track.EncodingParameters is { Length: > 0 } p ? "/" + p : string.Empty)}");
                return (track.EncodingName is null && track.PayloadType < 96 ? null : map, track.Fmtp);
        }
    }

    private static string Sanitize(string text) => text.Replace("\r", string.Empty, StringComparison.Ordinal).Replace("\n", string.Empty, StringComparison.Ordinal);
}
