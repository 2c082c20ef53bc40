using System.Globalization;
using System.Text;

namespace Relay.Server.GStreamer;

/// <summary>
/// The first structure of a caps string as gst_caps_to_string writes it, for example
/// <c>video/x-h264, stream-format=(string)byte-stream, width=(int)1280, framerate=(fraction)25/1</c>.
/// Values keep their text form with quotes and escapes removed.
/// </summary>
internal sealed class CapsStructure
{
    private readonly Dictionary<string, string> _fields;

    private CapsStructure(string name, Dictionary<string, string> fields)
    {
        Name = name;
        _fields = fields;
    }

    /// <summary>Gets the media type, for example <c>application/x-rtp</c>.</summary>
    public string Name { get; }

    /// <summary>Gets every field.</summary>
    public IReadOnlyDictionary<string, string> Fields => _fields;

    /// <summary>Parses the first structure of <paramref name="caps"/>.</summary>
    public static CapsStructure Parse(string caps)
    {
        var parts = Split(caps);
        var name = parts.Count > 0 ? parts[0].Trim() : string.Empty;
        var fields = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var part in parts.Skip(1))
        {
            var eq = part.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0)
            {
                continue;
            }

            var key = part[..eq].Trim();
            var value = part[(eq + 1)..].Trim();
            if (value.StartsWith('('))
            {
                var close = value.IndexOf(')', StringComparison.Ordinal);
                value = close > 0 ? value[(close + 1)..] : value;
            }

            fields[key] = Unquote(value);
        }

        return new CapsStructure(name, fields);
    }

    /// <summary>Gets a string field.</summary>
    public string? GetString(string key) => _fields.TryGetValue(key, out var v) ? v : null;

    /// <summary>Gets an integer field.</summary>
    public int? GetInt(string key) =>
        _fields.TryGetValue(key, out var v) && int.TryParse(v, NumberStyles.Integer, CultureInfo.InvariantCulture, out var i) ? i : null;

    /// <summary>Gets a fraction field (<c>25/1</c>) as a number; null when absent or 0/1 (variable).</summary>
    public double? GetFraction(string key)
    {
        if (!_fields.TryGetValue(key, out var v))
        {
            return null;
        }

        var slash = v.IndexOf('/', StringComparison.Ordinal);
        if (slash > 0
            && long.TryParse(v[..slash], NumberStyles.Integer, CultureInfo.InvariantCulture, out var n)
            && long.TryParse(v[(slash + 1)..], NumberStyles.Integer, CultureInfo.InvariantCulture, out var d)
            && n > 0 && d > 0)
        {
            return (double)n / d;
        }

        return null;
    }

    /// <summary>Gets a buffer field (hex digits) as bytes.</summary>
    public byte[]? GetBuffer(string key)
    {
        if (!_fields.TryGetValue(key, out var v) || v.Length == 0 || v.Length % 2 != 0)
        {
            return null;
        }

        try
        {
            return Convert.FromHexString(v);
        }
        catch (FormatException)
        {
            return null;
        }
    }

    private static List<string> Split(string caps)
    {
        // Fields are separated by commas outside quotes; the structure ends at ';' outside quotes.
        var parts = new List<string>();
        var current = new StringBuilder();
        var quoted = false;
        for (var i = 0; i < caps.Length; i++)
        {
            var c = caps[i];
            if (c == '\\' && i + 1 < caps.Length)
            {
                current.Append(c).Append(caps[++i]);
                continue;
            }

            if (c == '"')
            {
                quoted = !quoted;
            }
            else if (!quoted && c == ';')
            {
                break;
            }
            else if (!quoted && c == ',')
            {
                parts.Add(current.ToString());
                current.Clear();
                continue;
            }

            current.Append(c);
        }

        parts.Add(current.ToString());
        return parts;
    }

    private static string Unquote(string value)
    {
        var quoted = value.Length >= 2 && value[0] == '"' && value[^1] == '"';
        var body = quoted ? value[1..^1] : value;
        if (!body.Contains('\\', StringComparison.Ordinal))
        {
            return body;
        }

        var sb = new StringBuilder(body.Length);
        for (var i = 0; i < body.Length; i++)
        {
            if (body[i] == '\\' && i + 1 < body.Length)
            {
                i++;
            }

            sb.Append(body[i]);
        }

        return sb.ToString();
    }
}
