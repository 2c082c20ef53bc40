using System.Globalization;
using Relay.Media;

namespace Relay.Server.Sources;

/// <summary>
/// The parameters of a <c>test:</c> source, for example
/// <c>test:pattern=smpte&amp;size=1280x720&amp;fps=25&amp;bitrate=2000&amp;gop=25&amp;codec=h264&amp;audio=aac</c>.
/// </summary>
internal sealed record TestPatternOptions
{
    /// <summary>The videotestsrc patterns accepted.</summary>
    public static readonly string[] Patterns =
    [
        "smpte", "snow", "black", "white", "red", "green", "blue", "checkers-1", "checkers-2", "checkers-4", "checkers-8",
        "circular", "blink", "smpte75", "zone-plate", "gamut", "chroma-zone-plate", "solid-color", "ball", "smpte100", "bar",
        "pinwheel", "spokes", "gradient", "colors", "smpte-rp-219",
    ];

    private static readonly string[] Keys = ["pattern", "size", "fps", "bitrate", "gop", "codec", "audio"];

    public string Pattern { get; init; } = "smpte";

    public int Width { get; init; } = 1280;

    public int Height { get; init; } = 720;

    public int Fps { get; init; } = 25;

    /// <summary>Gets the video bitrate in kbit/s.</summary>
    public int Bitrate { get; init; } = 2000;

    /// <summary>Gets the keyframe interval in frames.</summary>
    public int Gop { get; init; } = 25;

    public Codec VideoCodec { get; init; } = Codec.H264;

    /// <summary>Gets the audio codec, or null for no audio.</summary>
    public Codec? AudioCodec { get; init; }

    /// <summary>Parses a <c>test:</c> URI; every problem is returned, nothing is thrown.</summary>
    public static (TestPatternOptions Options, List<string> Errors) Parse(Uri uri)
    {
        var errors = new List<string>();
        var options = new TestPatternOptions();
        var query = uri.OriginalString[(uri.OriginalString.IndexOf(':', StringComparison.Ordinal) + 1)..].TrimStart('/', '?');
        foreach (var part in query.Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            var eq = part.IndexOf('=', StringComparison.Ordinal);
            var key = (eq < 0 ? part : part[..eq]).ToLowerInvariant();
            var value = eq < 0 ? string.Empty : Uri.UnescapeDataString(part[(eq + 1)..]);
            switch (key)
            {
                case "pattern" when Patterns.Contains(value):
                    options = options with { Pattern = value };
                    break;
                case "pattern":
                    errors.Add($"unknown test pattern '{value}' (one of: {string.Join(", ", Patterns)})");
                    break;
                case "size":
                    var x = value.IndexOf('x', StringComparison.OrdinalIgnoreCase);
                    if (x > 0 && TryPositive(value[..x], 7680, out var w) && TryPositive(value[(x + 1)..], 4320, out var h) && w % 2 == 0 && h % 2 == 0)
                    {
                        options = options with { Width = w, Height = h };
                    }
                    else
                    {
                        errors.Add($"size '{value}' must be WIDTHxHEIGHT with even numbers up to 7680x4320");
                    }

                    break;
                case "fps":
                    options = TryPositive(value, 120, out var fps) ? options with { Fps = fps } : Error(options, errors, "fps must be 1..120");
                    break;
                case "bitrate":
                    options = TryPositive(value, 100_000, out var kbps) ? options with { Bitrate = kbps } : Error(options, errors, "bitrate must be 1..100000 (kbit/s)");
                    break;
                case "gop":
                    options = TryPositive(value, 1000, out var gop) ? options with { Gop = gop } : Error(options, errors, "gop must be 1..1000 (frames)");
                    break;
                case "codec":
                    options = value.ToLowerInvariant() switch
                    {
                        "h264" => options with { VideoCodec = Codec.H264 },
                        "h265" or "hevc" => options with { VideoCodec = Codec.H265 },
                        _ => Error(options, errors, $"codec '{value}' must be h264 or h265"),
                    };
                    break;
                case "audio":
                    options = value.ToLowerInvariant() switch
                    {
                        "" or "none" => options with { AudioCodec = null },
                        "aac" => options with { AudioCodec = Codec.Aac },
                        "pcmu" => options with { AudioCodec = Codec.Pcmu },
                        "pcma" => options with { AudioCodec = Codec.Pcma },
                        "opus" => options with { AudioCodec = Codec.Opus },
                        _ => Error(options, errors, $"audio '{value}' must be none, aac, pcmu, pcma or opus"),
                    };
                    break;
                default:
                    errors.Add($"unknown test source parameter '{key}' (known: {string.Join(", ", Keys)})");
                    break;
            }
        }

        return (options, errors);
    }

    private static TestPatternOptions Error(TestPatternOptions options, List<string> errors, string message)
    {
        errors.Add(message);
        return options;
    }

    private static bool TryPositive(string text, int max, out int value) =>
        int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out value) && value > 0 && value <= max;
}
