using System.Text;

namespace Relay.Server.Sources;

/// <summary>Source URI helpers. Credentials never leave this class except into the ingest element's own properties.</summary>
internal static class SourceUri
{
    private static readonly string[] SecretQueryKeys = ["user", "username", "password", "pass", "pwd", "passwd", "token", "auth", "key", "secret", "sig", "signature"];

    /// <summary>Gets a display form of <paramref name="uri"/> without user info or secret-looking query values.</summary>
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
        sb.Append(uri.AbsolutePath);
        if (uri.Query.Length > 1)
        {
            sb.Append('?').Append(RedactQuery(uri.Query[1..]));
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

    /// <summary>Removes <paramref name="secrets"/> from free text (for example a GStreamer error message).</summary>
    public static string Scrub(string text, Uri uri)
    {
        if (string.IsNullOrEmpty(text) || string.IsNullOrEmpty(uri.UserInfo))
        {
            return text;
        }

        var (_, user, password) = SplitCredentials(uri);
        foreach (var secret in new[] { uri.UserInfo, password, user })
        {
            if (!string.IsNullOrEmpty(secret) && secret.Length >= 2)
            {
                text = text.Replace(secret, "***", StringComparison.Ordinal);
            }
        }

        return text;
    }

    private static string RedactQuery(string query)
    {
        var parts = query.Split('&');
        for (var i = 0; i < parts.Length; i++)
        {
            var eq = parts[i].IndexOf('=', StringComparison.Ordinal);
            var key = eq < 0 ? parts[i] : parts[i][..eq];
            if (eq >= 0 && SecretQueryKeys.Contains(key, StringComparer.OrdinalIgnoreCase))
            {
                parts[i] = key + "=***";
            }
        }

        return string.Join('&', parts);
    }
}
