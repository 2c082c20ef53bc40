using System.Globalization;

namespace Relay.Tests.Fixtures;

/// <summary>
/// An HLS media playlist as a test reads it, and the rules of RFC 8216 / draft-pantos-hls-rfc8216bis it must obey
/// (written for the tests from the specification, independently of the product's writer).
/// </summary>
public sealed class LowLatencyPlaylist
{
    private LowLatencyPlaylist()
    {
    }

    public int? TargetDuration { get; private set; }

    public double? PartTarget { get; private set; }

    public double? PartHoldBack { get; private set; }

    public bool CanBlockReload { get; private set; }

    public long MediaSequence { get; private set; }

    public List<PlaylistSegment> Segments { get; } = [];

    public string? PreloadHint { get; private set; }

    public string Text { get; private set; } = string.Empty;

    public static LowLatencyPlaylist Parse(string text)
    {
        var playlist = new LowLatencyPlaylist { Text = text };
        var lines = text.Split('\n', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        if (lines.Length == 0 || lines[0] != "#EXTM3U")
        {
            throw new FormatException("A playlist starts with #EXTM3U.");
        }

        var current = new PlaylistSegment();
        double? extinf = null;
        foreach (var line in lines.Skip(1))
        {
            if (line.StartsWith("#EXT-X-TARGETDURATION:", StringComparison.Ordinal))
            {
                playlist.TargetDuration = int.Parse(line[22..], CultureInfo.InvariantCulture);
            }
            else if (line.StartsWith("#EXT-X-PART-INF:", StringComparison.Ordinal))
            {
                playlist.PartTarget = Number(Attribute(line, "PART-TARGET"));
            }
            else if (line.StartsWith("#EXT-X-SERVER-CONTROL:", StringComparison.Ordinal))
            {
                playlist.CanBlockReload = Attribute(line, "CAN-BLOCK-RELOAD") == "YES";
                playlist.PartHoldBack = Attribute(line, "PART-HOLD-BACK") is { } hold ? Number(hold) : null;
            }
            else if (line.StartsWith("#EXT-X-MEDIA-SEQUENCE:", StringComparison.Ordinal))
            {
                playlist.MediaSequence = long.Parse(line[22..], CultureInfo.InvariantCulture);
            }
            else if (line.StartsWith("#EXT-X-MAP:", StringComparison.Ordinal))
            {
                current.Map = Attribute(line, "URI");
            }
            else if (line == "#EXT-X-DISCONTINUITY")
            {
                current.Discontinuity = true;
            }
            else if (line.StartsWith("#EXT-X-PROGRAM-DATE-TIME:", StringComparison.Ordinal))
            {
                current.ProgramDateTime = DateTimeOffset.Parse(line[25..], CultureInfo.InvariantCulture);
            }
            else if (line.StartsWith("#EXT-X-PART:", StringComparison.Ordinal))
            {
                current.Parts.Add(new PlaylistPart(Number(Attribute(line, "DURATION")!), Attribute(line, "URI")!, Attribute(line, "INDEPENDENT") == "YES"));
            }
            else if (line.StartsWith("#EXTINF:", StringComparison.Ordinal))
            {
                extinf = Number(line[8..].TrimEnd(','));
            }
            else if (line.StartsWith("#EXT-X-PRELOAD-HINT:", StringComparison.Ordinal))
            {
                playlist.PreloadHint = Attribute(line, "URI");
            }
            else if (!line.StartsWith('#'))
            {
                current.Duration = extinf;
                current.Uri = line;
                playlist.Segments.Add(current);
                current = new PlaylistSegment();
                extinf = null;
            }
        }

        if (current.Parts.Count > 0)
        {
            playlist.Segments.Add(current); // the open segment: parts only
        }

        return playlist;
    }

    /// <summary>Lists every rule the playlist breaks.</summary>
    /// <param name="partFloor">
    /// Whether to require parts but a segment's last to last at least 85 % of the part target. Whole frames of a camera
    /// whose frame times wander cannot always meet it without a part going over the target, which is never allowed.
    /// </param>
    public List<string> Violations(bool partFloor = true)
    {
        var problems = new List<string>();
        if (TargetDuration is not { } target)
        {
            problems.Add("no EXT-X-TARGETDURATION");
            return problems;
        }

        if (Segments.Count == 0 || Segments[0].Map is null)
        {
            problems.Add("no EXT-X-MAP before the first segment");
        }

        var hasParts = Segments.Any(s => s.Parts.Count > 0);
        if (hasParts && PartTarget is null)
        {
            problems.Add("EXT-X-PART without EXT-X-PART-INF");
        }

        if (hasParts && (PartHoldBack is not { } hold || hold < 2 * PartTarget!.Value))
        {
            problems.Add($"PART-HOLD-BACK {PartHoldBack} is missing or below twice the part target {PartTarget}");
        }

        foreach (var segment in Segments)
        {
            if (segment.Duration is { } duration && Math.Round(duration, MidpointRounding.AwayFromZero) > target)
            {
                problems.Add($"{segment.Uri}: EXTINF {duration} rounds above the target duration {target}");
            }

            if (segment.ProgramDateTime is null)
            {
                problems.Add($"{segment.Uri ?? "open segment"}: no EXT-X-PROGRAM-DATE-TIME");
            }

            for (var i = 0; i < segment.Parts.Count; i++)
            {
                var part = segment.Parts[i];
                if (part.Duration > PartTarget + 1e-9)
                {
                    problems.Add($"{part.Uri}: part duration {part.Duration} above the part target {PartTarget}");
                }

                var isLast = i == segment.Parts.Count - 1 && segment.Uri is not null;
                if (partFloor && !isLast && segment.Uri is not null && part.Duration < 0.85 * PartTarget!.Value)
                {
                    problems.Add($"{part.Uri}: part duration {part.Duration} below 85 % of the part target {PartTarget} (only a segment's last part may be)");
                }
            }

            if (segment.Duration is { } total && segment.Parts.Count > 0 && Math.Abs(segment.Parts.Sum(p => p.Duration) - total) > 0.002)
            {
                problems.Add($"{segment.Uri}: its parts last {segment.Parts.Sum(p => p.Duration)} s, its EXTINF says {total} s");
            }
        }

        return problems;
    }

    private static string? Attribute(string line, string name)
    {
        var at = line.IndexOf(name + "=", StringComparison.Ordinal);
        if (at < 0)
        {
            return null;
        }

        var value = line[(at + name.Length + 1)..];
        if (value.StartsWith('"'))
        {
            return value[1..value.IndexOf('"', 1)];
        }

        var comma = value.IndexOf(',');
        return comma < 0 ? value : value[..comma];
    }

    private static double Number(string? text) => double.Parse(text ?? throw new FormatException("missing number"), CultureInfo.InvariantCulture);
}

public sealed class PlaylistSegment
{
    public string? Uri { get; set; }

    public double? Duration { get; set; }

    public string? Map { get; set; }

    public bool Discontinuity { get; set; }

    public DateTimeOffset? ProgramDateTime { get; set; }

    public List<PlaylistPart> Parts { get; } = [];
}

public sealed record PlaylistPart(double Duration, string Uri, bool Independent);
