using System.Globalization;
using Relay.Media;
using Relay.Server.Codecs;
using Relay.Server.Sdp;

namespace Relay.Server.Sources;

/// <summary>Turns a camera's SDP into Relay's track list (one track per media section, in order).</summary>
internal static class SdpTracks
{
    /// <summary>Maps every media section of <paramref name="sdp"/> to a <see cref="TrackInfo"/>.</summary>
    public static TrackInfo[] Map(string sdp)
    {
        var description = SessionDescription.Parse(sdp);
        var tracks = new TrackInfo[description.Media.Count];
        for (var i = 0; i < tracks.Length; i++)
        {
            tracks[i] = MapMedia(i, description.Media[i]);
        }

        return tracks;
    }

    /// <summary>Maps one media section.</summary>
    public static TrackInfo MapMedia(int index, MediaDescription media)
    {
        var kind = media.Media.ToLowerInvariant() switch
        {
            "video" => MediaKind.Video,
            "audio" => MediaKind.Audio,
            _ => MediaKind.Application,
        };
        var pt = media.PayloadType ?? -1;
        var rtpMap = media.RtpMap(pt) ?? StaticPayload(pt);
        var name = rtpMap?.Name ?? string.Empty;
        var clockRate = rtpMap?.ClockRate ?? 90000;
        var parameters = media.FmtpParameters(pt);
        var codec = CodecFor(kind, name, parameters);

        var track = new TrackInfo
        {
            Index = index,
            Kind = kind,
            Codec = codec,
            ClockRate = clockRate > 0 ? clockRate : 90000,
            Channels = kind == MediaKind.Audio ? ParseChannels(rtpMap?.Parameters) : 0,
            EncodingName = name.Length > 0 ? name : null,
            EncodingParameters = rtpMap?.Parameters,
            Fmtp = media.Fmtp(pt),
            PayloadType = pt >= 0 ? pt : null,
            FrameRate = ParseFrameRate(media.Attribute("framerate")),
        };

        return codec switch
        {
            Codec.H264 => WithH264Sprop(track, parameters),
            Codec.H265 => WithH265Sprop(track, parameters),
            Codec.Aac => WithAacConfig(track, parameters),
            Codec.Opus => track with { ClockRate = 48000, Channels = 2 },
            _ => track,
        };
    }

    /// <summary>Chooses the codec Relay parses a track as; anything else is relayed as RTP payloads.</summary>
    public static Codec CodecFor(MediaKind kind, string encodingName, IReadOnlyDictionary<string, string> fmtp)
    {
        var name = encodingName.ToUpperInvariant();
        return (kind, name) switch
        {
            (MediaKind.Video, "H264") => Codec.H264,
            (MediaKind.Video, "H265" or "HEVC") => Codec.H265,
            (MediaKind.Audio, "MPEG4-GENERIC") when IsAacMode(fmtp) => Codec.Aac,
            (MediaKind.Audio, "MP4A-LATM") => Codec.Aac,
            (MediaKind.Audio, "PCMU") => Codec.Pcmu,
            (MediaKind.Audio, "PCMA") => Codec.Pcma,
            (MediaKind.Audio, "OPUS") => Codec.Opus,
            _ => Codec.Passthrough,
        };
    }

    private static bool IsAacMode(IReadOnlyDictionary<string, string> fmtp) =>
        fmtp.TryGetValue("mode", out var mode) && mode.StartsWith("AAC-", StringComparison.OrdinalIgnoreCase);

    private static (string Name, int ClockRate, string? Parameters)? StaticPayload(int payloadType) => payloadType switch
    {
        // RFC 3551 §6, static payload types a camera may send without an rtpmap.
        0 => ("PCMU", 8000, "1"),
        8 => ("PCMA", 8000, "1"),
        26 => ("JPEG", 90000, null),
        _ => null,
    };

    private static int ParseChannels(string? parameters) =>
        int.TryParse(parameters, NumberStyles.Integer, CultureInfo.InvariantCulture, out var channels) && channels > 0 ? channels : 1;

    private static double? ParseFrameRate(string? value) =>
        double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var fps) && fps > 0 ? fps : null;

    private static TrackInfo WithH264Sprop(TrackInfo track, Dictionary<string, string> fmtp)
    {
        if (!fmtp.TryGetValue("sprop-parameter-sets", out var sprop))
        {
            return track;
        }

        ReadOnlyMemory<byte> sps = default, pps = default;
        foreach (var set in sprop.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var nal = TryBase64(set);
            if (nal is not { Length: > 0 })
            {
                continue;
            }

            switch (H264.NalType(nal[0]))
            {
                case H264.NalSps when sps.IsEmpty:
                    sps = nal;
                    break;
                case H264.NalPps when pps.IsEmpty:
                    pps = nal;
                    break;
            }
        }

        return TrackParameters.WithVideoParameters(track, default, sps, pps);
    }

    private static TrackInfo WithH265Sprop(TrackInfo track, Dictionary<string, string> fmtp)
    {
        ReadOnlyMemory<byte> Get(string key) =>
            fmtp.TryGetValue(key, out var value) && TryBase64(value.Split(',')[0]) is { Length: > 0 } nal ? nal : default;

        return TrackParameters.WithVideoParameters(track, Get("sprop-vps"), Get("sprop-sps"), Get("sprop-pps"));
    }

    private static TrackInfo WithAacConfig(TrackInfo track, Dictionary<string, string> fmtp)
    {
        if (!fmtp.TryGetValue("config", out var hex) || hex.Length % 2 != 0)
        {
            return track;
        }

        try
        {
            var config = Convert.FromHexString(hex);
            if (track.EncodingName?.Equals("MP4A-LATM", StringComparison.OrdinalIgnoreCase) == true)
            {
                // A LATM StreamMuxConfig, not an AudioSpecificConfig: the depayloader's caps will carry the real one.
                return track;
            }

            return TrackParameters.WithAudioConfig(track, config);
        }
        catch (FormatException)
        {
            return track;
        }
    }

    private static byte[]? TryBase64(string value)
    {
        try
        {
            return Convert.FromBase64String(value);
        }
        catch (FormatException)
        {
            return null;
        }
    }
}
