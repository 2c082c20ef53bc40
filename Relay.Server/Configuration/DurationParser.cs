using System.Globalization;

namespace Relay.Server.Configuration;

/// <summary>Parses durations as people write them in configuration: <c>500ms</c>, <c>5s</c>, <c>2m</c>, <c>1h</c>, <c>00:00:05</c>, or plain seconds.</summary>
internal static class DurationParser
{
    // Larger numbers would overflow TimeSpan (an exception, not a parse failure); every caller caps far below this.
    private const double MaxSeconds = 1e9;

    public static bool TryParse(string text, out TimeSpan value)
    {
        text = text.Trim();
        value = default;
        (string Suffix, double Scale)[] units = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600)];
        foreach (var (suffix, scale) in units)
        {
            if (text.EndsWith(suffix, StringComparison.OrdinalIgnoreCase)
                && double.TryParse(text[..^suffix.Length], NumberStyles.Float, CultureInfo.InvariantCulture, out var number)
                && double.IsFinite(number) && number >= 0 && number * scale <= MaxSeconds)
            {
                value = TimeSpan.FromSeconds(number * scale);
                return true;
            }
        }

        if (double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds) && double.IsFinite(seconds) && seconds >= 0 && seconds <= MaxSeconds)
        {
            value = TimeSpan.FromSeconds(seconds);
            return true;
        }

        return text.Contains(':', StringComparison.Ordinal) && TimeSpan.TryParse(text, CultureInfo.InvariantCulture, out value) && value >= TimeSpan.Zero;
    }
}
