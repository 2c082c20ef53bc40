using System.Globalization;

namespace Relay.Server.Sdp;

/// <summary>A parsed SDP (RFC 8866): the media sections and their attributes. Only what Relay reads is kept.</summary>
internal sealed class SessionDescription
{
    private SessionDescription(IReadOnlyList<MediaDescription> media)
    {
        Media = media;
    }

    /// <summary>Gets the media sections in order.</summary>
    public IReadOnlyList<MediaDescription> Media { get; }

    /// <summary>Parses SDP text; unknown or malformed lines are skipped, as RFC 8866 §5 asks of receivers.</summary>
    public static SessionDescription Parse(string text)
    {
        var media = new List<MediaDescription>();
        MediaDescription? current = null;
        foreach (var raw in text.Split('\n'))
        {
            var line = raw.TrimEnd('\r');
            if (line.Length < 2 || line[1] != '=')
            {
                continue;
            }

            var value = line[2..];
            switch (line[0])
            {
                case 'm':
                    current = MediaDescription.ParseMediaLine(value);
                    if (current is not null)
                    {
                        media.Add(current);
                    }

                    break;
                case 'a' when current is not null:
                    var colon = value.IndexOf(':', StringComparison.Ordinal);
                    current.Attributes.Add(colon < 0 ? (value, null) : (value[..colon], value[(colon + 1)..]));
                    break;
            }
        }

        return new SessionDescription(media);
    }
}

/// <summary>One <c>m=</c> section.</summary>
internal sealed class MediaDescription
{
    private MediaDescription(string media, string protocol, IReadOnlyList<string> formats)
    {
        Media = media;
        Protocol = protocol;
        Formats = formats;
    }

    /// <summary>Gets the media type: <c>video</c>, <c>audio</c>, <c>application</c>, …</summary>
    public string Media { get; }

    /// <summary>Gets the transport protocol, for example <c>RTP/AVP</c>.</summary>
    public string Protocol { get; }

    /// <summary>Gets the payload formats (RTP payload types).</summary>
    public IReadOnlyList<string> Formats { get; }

    /// <summary>Gets the attributes in order (name, value or null for property attributes).</summary>
    public List<(string Name, string? Value)> Attributes { get; } = [];

    /// <summary>Gets the first payload type as a number, when it is one.</summary>
    public int? PayloadType =>
        Formats.Count > 0 && int.TryParse(Formats[0], NumberStyles.Integer, CultureInfo.InvariantCulture, out var pt) ? pt : null;

    /// <summary>Gets the first value of an attribute.</summary>
    public string? Attribute(string name) =>
        Attributes.FirstOrDefault(a => string.Equals(a.Name, name, StringComparison.OrdinalIgnoreCase)).Value;

    /// <summary>Gets the rtpmap of <paramref name="payloadType"/>: encoding name, clock rate, encoding parameters.</summary>
    public (string Name, int ClockRate, string? Parameters)? RtpMap(int payloadType)
    {
        var value = ForPayload("rtpmap", payloadType);
        if (value is null)
        {
            return null;
        }

        var parts = value.Split('/', 3);
        var rate = parts.Length > 1 && int.TryParse(parts[1], NumberStyles.Integer, CultureInfo.InvariantCulture, out var r) ? r : 0;
        return (parts[0].Trim(), rate, parts.Length > 2 ? parts[2].Trim() : null);
    }

    /// <summary>Gets the fmtp parameter text of <paramref name="payloadType"/> (after the payload type).</summary>
    public string? Fmtp(int payloadType) => ForPayload("fmtp", payloadType);

    /// <summary>Gets the fmtp parameters of <paramref name="payloadType"/> as name → value (names lower-cased).</summary>
    public Dictionary<string, string> FmtpParameters(int payloadType)
    {
        var result = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        var fmtp = Fmtp(payloadType);
        if (fmtp is null)
        {
            return result;
        }

        foreach (var item in fmtp.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var eq = item.IndexOf('=', StringComparison.Ordinal);
            if (eq > 0)
            {
                result[item[..eq].Trim()] = item[(eq + 1)..].Trim();
            }
        }

        return result;
    }

    internal static MediaDescription? ParseMediaLine(string value)
    {
        // m=<media> <port>[/<n>] <proto> <fmt> ...
        var parts = value.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        return parts.Length < 3 ? null : new MediaDescription(parts[0], parts[2], parts[3..]);
    }

    private string? ForPayload(string attribute, int payloadType)
    {
        var prefix = payloadType.ToString(CultureInfo.InvariantCulture);
        foreach (var (name, value) in Attributes)
        {
            if (value is not null && string.Equals(name, attribute, StringComparison.OrdinalIgnoreCase))
            {
                var space = value.IndexOf(' ', StringComparison.Ordinal);
                if (space > 0 && value.AsSpan(0, space).SequenceEqual(prefix))
                {
                    return value[(space + 1)..].Trim();
                }
            }
        }

        return null;
    }
}
