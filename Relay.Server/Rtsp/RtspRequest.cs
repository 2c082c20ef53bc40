using System.Globalization;

namespace Relay.Server.Rtsp;

/// <summary>A parsed RTSP request (RFC 2326 §6).</summary>
internal sealed class RtspRequest
{
    private readonly List<KeyValuePair<string, string>> _headers;

    public RtspRequest(string method, string uri, string version, List<KeyValuePair<string, string>> headers, byte[] body)
    {
        Method = method;
        Uri = uri;
        Version = version;
        _headers = headers;
        Body = body;
    }

    public string Method { get; }

    /// <summary>Gets the request URI as sent (absolute <c>rtsp://…</c>, or <c>*</c>).</summary>
    public string Uri { get; }

    public string Version { get; }

    public byte[] Body { get; }

    public IReadOnlyList<KeyValuePair<string, string>> Headers => _headers;

    /// <summary>Gets the CSeq, or null when missing or not a number.</summary>
    public int? CSeq =>
        int.TryParse(this["CSeq"], NumberStyles.None, CultureInfo.InvariantCulture, out var cseq) ? cseq : null;

    /// <summary>Gets the session id from the Session header (without parameters such as timeout).</summary>
    public string? SessionId => this["Session"] is { } session ? session.Split(';')[0].Trim() : null;

    /// <summary>Gets the first value of a header (case-insensitive), or null.</summary>
    public string? this[string name]
    {
        get
        {
            foreach (var (key, value) in _headers)
            {
                if (string.Equals(key, name, StringComparison.OrdinalIgnoreCase))
                {
                    return value;
                }
            }

            return null;
        }
    }
}
