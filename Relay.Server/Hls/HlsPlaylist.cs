using System.Globalization;
using System.Text;

namespace Relay.Server.Hls;

/// <summary>
/// Writes the playlists of one stream (RFC 8216 and its second edition, draft-pantos-hls-rfc8216bis): a
/// multivariant playlist with one variant, and the low-latency media playlist. Players that do not know LL-HLS
/// ignore the EXT-X-PART tags and play the complete segments.
/// </summary>
internal static class HlsPlaylist
{
    /// <summary>The name of the media playlist, beside the multivariant <c>index.m3u8</c>.</summary>
    public const string MediaPlaylist = "stream.m3u8";

    /// <summary>Writes the multivariant playlist.</summary>
    /// <param name="bandwidth">Peak bits per second.</param>
    /// <param name="codecs">The RFC 6381 codecs of every track.</param>
    /// <param name="width">Picture width, when known.</param>
    /// <param name="height">Picture height, when known.</param>
    /// <param name="frameRate">Frames per second, when known.</param>
    public static string Multivariant(long bandwidth, IEnumerable<string> codecs, int? width, int? height, double? frameRate)
    {
        var text = new StringBuilder("#EXTM3U\n#EXT-X-VERSION:9\n");
        text.Append(CultureInfo.InvariantCulture, $"#EXT-X-STREAM-INF:BANDWIDTH={Math.Max(1, bandwidth)},CODECS=\"{string.Join(',', codecs)}\"");
        if (width is > 0 && height is > 0)
        {
            text.Append(CultureInfo.InvariantCulture, $",RESOLUTION={width}x{height}");
        }

        if (frameRate is > 0)
        {
            text.Append(CultureInfo.InvariantCulture, $",FRAME-RATE={frameRate:0.000}");
        }

        return text.Append('\n').Append(MediaPlaylist).Append('\n').ToString();
    }

    /// <summary>Writes the media playlist.</summary>
    public static string Media(in MediaPlaylistState state)
    {
        var text = new StringBuilder(2048);
        var partTarget = Seconds(state.PartTarget);
        text.Append("#EXTM3U\n#EXT-X-VERSION:9\n")
            .Append(CultureInfo.InvariantCulture, $"#EXT-X-TARGETDURATION:{state.TargetDuration}\n")
            .Append(CultureInfo.InvariantCulture, $"#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK={Seconds(3 * state.PartTarget)}\n")
            .Append(CultureInfo.InvariantCulture, $"#EXT-X-PART-INF:PART-TARGET={partTarget}\n");
        var segments = state.Segments;
        text.Append(CultureInfo.InvariantCulture, $"#EXT-X-MEDIA-SEQUENCE:{(segments.Count > 0 ? segments[0].Sequence : state.NextSequence)}\n");
        if (state.DiscontinuitySequence > 0)
        {
            text.Append(CultureInfo.InvariantCulture, $"#EXT-X-DISCONTINUITY-SEQUENCE:{state.DiscontinuitySequence}\n");
        }

        // Parts are listed for the last segments only: the spec asks to drop them beyond three target durations.
        var partsFrom = segments.Count;
        var recent = 0.0;
        while (partsFrom > 0 && recent < 3 * state.TargetDuration)
        {
            recent += segments[--partsFrom].Duration;
        }

        for (var i = 0; i < segments.Count; i++)
        {
            var segment = segments[i];
            if (i == 0 || segment.Discontinuity)
            {
                if (i > 0)
                {
                    text.Append("#EXT-X-DISCONTINUITY\n");
                }

                text.Append(CultureInfo.InvariantCulture, $"#EXT-X-MAP:URI=\"{state.Names.Init(segment.InitVersion)}\"\n");
            }

            text.Append(CultureInfo.InvariantCulture, $"#EXT-X-PROGRAM-DATE-TIME:{segment.ProgramDateTime.UtcDateTime:yyyy-MM-ddTHH:mm:ss.fffZ}\n");
            if (i >= partsFrom && !segment.FromCache)
            {
                foreach (var part in segment.Parts)
                {
                    text.Append(CultureInfo.InvariantCulture, $"#EXT-X-PART:DURATION={Seconds(part.Duration)},URI=\"{state.Names.Part(segment.Sequence, part.Index)}\"");
                    text.Append(part.Independent ? ",INDEPENDENT=YES\n" : "\n");
                }
            }

            if (segment.IsComplete)
            {
                text.Append(CultureInfo.InvariantCulture, $"#EXTINF:{Seconds(segment.Duration)},\n{state.Names.Segment(segment.Sequence)}\n");
            }
        }

        var open = segments.Count > 0 && !segments[^1].IsComplete ? segments[^1] : null;
        var hint = open is null ? state.Names.Part(state.NextSequence, 0) : state.Names.Part(open.Sequence, open.Parts.Count);
        text.Append(CultureInfo.InvariantCulture, $"#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"{hint}\"\n");
        return text.ToString();
    }

    /// <summary>Formats seconds the way every duration in the playlists is written.</summary>
    public static string Seconds(double seconds) => seconds.ToString("0.00000", CultureInfo.InvariantCulture);

    /// <summary>Rounds a duration up to the precision of <see cref="Seconds"/>, so a written target is never below a real duration.</summary>
    public static double CeilingSeconds(double seconds) => Math.Ceiling((seconds * 100_000) - 1e-6) / 100_000;
}

/// <summary>What the media playlist is written from.</summary>
/// <param name="Names">The URI of each resource.</param>
/// <param name="TargetDuration">EXT-X-TARGETDURATION, in whole seconds.</param>
/// <param name="PartTarget">EXT-X-PART-INF PART-TARGET, in seconds (already rounded up).</param>
/// <param name="DiscontinuitySequence">Discontinuities that left the playlist.</param>
/// <param name="NextSequence">The sequence number the next segment will have.</param>
/// <param name="Segments">The listed segments, the last one possibly still open.</param>
internal readonly record struct MediaPlaylistState(HlsNames Names, int TargetDuration, double PartTarget, long DiscontinuitySequence, long NextSequence, IReadOnlyList<HlsSegment> Segments);

/// <summary>
/// The URIs of one muxer's resources, relative to the playlist. A muxer's names carry its id, so a segment cached by
/// a player or a proxy is never confused with one of a later muxer of the same stream (sequence numbers restart).
/// </summary>
/// <param name="Id">The muxer's id.</param>
internal sealed record HlsNames(string Id)
{
    public string Init(int version) => string.Create(CultureInfo.InvariantCulture, $"{Id}-init{version}.mp4");

    public string Segment(long sequence) => string.Create(CultureInfo.InvariantCulture, $"{Id}-seg{sequence}.m4s");

    public string Part(long sequence, int index) => string.Create(CultureInfo.InvariantCulture, $"{Id}-part{sequence}.{index}.m4s");

    /// <summary>Recognises one of this muxer's resource names.</summary>
    public HlsResource? Parse(string name)
    {
        var prefix = Id + "-";
        if (!name.StartsWith(prefix, StringComparison.Ordinal))
        {
            return null;
        }

        var rest = name.AsSpan(prefix.Length);
        if (rest.StartsWith("init") && rest.EndsWith(".mp4") && int.TryParse(rest[4..^4], NumberStyles.None, CultureInfo.InvariantCulture, out var version))
        {
            return new HlsResource(HlsResourceKind.Init, version, 0);
        }

        if (rest.StartsWith("seg") && rest.EndsWith(".m4s") && long.TryParse(rest[3..^4], NumberStyles.None, CultureInfo.InvariantCulture, out var segment))
        {
            return new HlsResource(HlsResourceKind.Segment, segment, 0);
        }

        if (rest.StartsWith("part") && rest.EndsWith(".m4s"))
        {
            var body = rest[4..^4];
            var dot = body.IndexOf('.');
            if (dot > 0
                && long.TryParse(body[..dot], NumberStyles.None, CultureInfo.InvariantCulture, out var sequence)
                && int.TryParse(body[(dot + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out var index))
            {
                return new HlsResource(HlsResourceKind.Part, sequence, index);
            }
        }

        return null;
    }
}

/// <summary>The kinds of HLS resource besides playlists.</summary>
internal enum HlsResourceKind
{
    Init,
    Segment,
    Part,
}

/// <summary>A requested resource: an init segment (by version), a segment (by sequence) or a part.</summary>
internal readonly record struct HlsResource(HlsResourceKind Kind, long Number, int Index);
