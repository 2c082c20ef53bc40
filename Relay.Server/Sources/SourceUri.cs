using System.Text;
using System.Text.RegularExpressions;

namespace Relay.Server.Sources;

/// <summary>Source URI helpers. Credentials never leave this class except into the ingest element's own properties.</summary>
internal static partial class SourceUri
{
    // Keys whose values are credentials, as cameras and DVRs spell them in a query or in the path
    // (rtsp://dvr/user=admin&password=x&channel=1&stream=0.sdp, ?loginuse=admin&loginpas=x, ?authbasic=base64).
    private static readonly string[] SecretKeys =
    [
        "user", "username", "usr", "account", "loginuse", "password", "pass", "pwd", "passwd", "passwort", "loginpas", "token", "access_token",
        "auth", "authbasic", "authorization", "key", "apikey", "api_key", "secret", "sig", "signature", "credential", "credentials",
    ];

    /// <summary>Secrets this short are replaced only where they stand as a value (after ':' or '=', before '@', '&amp;' or the end).</summary>
    private const int ShortSecret = 4;

    /// <summary>
    /// Gets a display form of <paramref name="uri"/> without user info or secret-looking values, in the query or in the
    /// path (DVR-style <c>key=value&amp;…</c> segments).
    /// </summary>
    /// <example><c>rtsp://admin:hunter2@10.0.0.5/stream1</c> becomes <c>rtsp://***@10.0.0.5/stream1</c>.</example>
    public static string Redact(Uri uri)
    {
        if (!uri.IsAbsoluteUri)
        {
            return "(invalid URI)";
        }

        if (uri.Scheme == "test")
        {
            return uri.OriginalString;
        }

        var sb = new StringBuilder();
        sb.Append(uri.Scheme).Append("://");
        if (!string.IsNullOrEmpty(uri.UserInfo))
        {
            sb.Append("***@");
        }

        sb.Append(uri.IsDefaultPort ? uri.Host : $"{uri.Host}:{uri.Port}");
        var segments = uri.AbsolutePath.Split('/').Select(RedactPairs).ToArray();
        if (EndsInStreamKey(uri, segments))
        {
            segments[^1] = "***";
        }

        sb.Append(string.Join('/', segments));
        if (uri.Query.Length > 1)
        {
            sb.Append('?').Append(RedactPairs(uri.Query[1..]));
        }

        return sb.ToString();
    }

    /// <summary>Splits the user info out of <paramref name="uri"/>.</summary>
    /// <returns>The URI without user info, and the unescaped user and password (null when absent).</returns>
    public static (string Location, string? User, string? Password) SplitCredentials(Uri uri)
    {
        if (string.IsNullOrEmpty(uri.UserInfo))
        {
            return (uri.AbsoluteUri, null, null);
        }

        var colon = uri.UserInfo.IndexOf(':', StringComparison.Ordinal);
        var user = Uri.UnescapeDataString(colon < 0 ? uri.UserInfo : uri.UserInfo[..colon]);
        var password = colon < 0 ? null : Uri.UnescapeDataString(uri.UserInfo[(colon + 1)..]);
        var builder = new UriBuilder(uri) { UserName = string.Empty, Password = string.Empty };
        return (builder.Uri.AbsoluteUri, user, password);
    }

    /// <summary>
    /// Removes the credentials of <paramref name="uri"/> from free text (for example a GStreamer error message): the URI
    /// itself in any spelling becomes its redacted form, then each secret (user info, secret-looking values) becomes
    /// <c>***</c>, a short one only where it stands as a value, so that a one-letter password does not blank every
    /// letter of the message.
    /// </summary>
    public static string Scrub(string text, Uri uri)
    {
        if (string.IsNullOrEmpty(text) || !uri.IsAbsoluteUri || uri.Scheme == "test")
        {
            return text;
        }

        var secrets = Secrets(uri);
        if (secrets.Count == 0)
        {
            return text;
        }

        var redacted = Redact(uri);
        foreach (var form in new[] { uri.OriginalString, uri.AbsoluteUri, Uri.UnescapeDataString(uri.OriginalString) }.Distinct().OrderByDescending(f => f.Length))
        {
            text = text.Replace(form, redacted, StringComparison.Ordinal);
        }

        foreach (var secret in secrets.OrderByDescending(x => x.Length))
        {
            text = secret.Length >= ShortSecret
                ? text.Replace(secret, "***", StringComparison.Ordinal)
                : Regex.Replace(text, $"(?<=[:=]){Regex.Escape(secret)}(?=[@&;/\\s\"')]|$)", "***", RegexOptions.CultureInvariant, TimeSpan.FromSeconds(1));
        }

        return text;
    }

    /// <summary>Tells whether the last path segment is a stream key: rtmp://host/app/STREAM-KEY, the secret of a live platform.</summary>
    private static bool EndsInStreamKey(Uri uri, string[] segments) => uri.Scheme is "rtmp" or "rtmps" && segments.Length > 2 && segments[^1].Length > 0;

    /// <summary>Gets the secrets in <paramref name="uri"/>: user info, user, password, and secret-looking values, escaped and not.</summary>
    private static List<string> Secrets(Uri uri)
    {
        var secrets = new List<string>();
        if (!string.IsNullOrEmpty(uri.UserInfo))
        {
            var (_, user, password) = SplitCredentials(uri);
            secrets.AddRange([uri.UserInfo, password ?? string.Empty, user ?? string.Empty]);
        }

        var segments = uri.AbsolutePath.Split('/');
        if (EndsInStreamKey(uri, segments))
        {
            secrets.Add(segments[^1]); // the stream key
        }

        foreach (var part in segments.Append(uri.Query.TrimStart('?')).SelectMany(p => p.Split('&', ';')))
        {
            var eq = part.IndexOf('=', StringComparison.Ordinal);
            if (eq > 0 && SecretKeys.Contains(part[..eq], StringComparer.OrdinalIgnoreCase))
            {
                secrets.Add(part[(eq + 1)..]);
            }
        }

        return secrets.SelectMany(x => new[] { x, Uri.UnescapeDataString(x) }).Where(x => x.Length > 0).Distinct().ToList();
    }

    /// <summary>Redacts the secret values of <c>key=value</c> pairs separated by '&amp;' or ';' (a query, or a DVR's path segment).</summary>
    private static string RedactPairs(string text) =>
        PairPattern().Replace(text, m => SecretKeys.Contains(m.Groups["key"].Value, StringComparer.OrdinalIgnoreCase) ? $"{m.Groups["key"].Value}=***" : m.Value);

    [GeneratedRegex("(?<=^|[&;])(?<key>[^&;=]+)=(?<value>[^&;]*)")]
    private static partial Regex PairPattern();
}
