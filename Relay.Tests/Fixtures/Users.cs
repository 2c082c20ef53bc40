using Relay.Server.Auth;

namespace Relay.Tests.Fixtures;

/// <summary>Builds <c>Relay:Users</c> and <c>Relay:Tokens</c> settings for tests, with hashes made as the <c>hash-password</c> command makes them.</summary>
public static class Users
{
    /// <summary>Adds a user. <paramref name="read"/> empty: every stream.</summary>
    public static Dictionary<string, string?> AddUser(
        this Dictionary<string, string?> settings, string name, string password, bool basic = true, bool digest = true, string? scopes = null, string? addresses = null, params string[] read)
    {
        var prefix = $"Relay:Users:{name}:";
        if (basic)
        {
            // Fewer iterations than production keep the tests quick; the format and the check are the same.
            settings[prefix + "PasswordHash"] = PasswordHash.Create(password, iterations: 10_000);
        }

        if (digest)
        {
            settings[prefix + "DigestMd5"] = PasswordHash.DigestHa1("MD5", name, "Relay", password);
            settings[prefix + "DigestSha256"] = PasswordHash.DigestHa1("SHA-256", name, "Relay", password);
        }

        for (var i = 0; i < read.Length; i++)
        {
            settings[$"{prefix}Read:{i}"] = read[i];
        }

        if (scopes is not null)
        {
            settings[prefix + "Scopes"] = scopes;
        }

        if (addresses is not null)
        {
            settings[prefix + "Addresses"] = addresses;
        }

        return settings;
    }

    /// <summary>Adds a token and returns it.</summary>
    public static string AddToken(this Dictionary<string, string?> settings, string name, string scopes)
    {
        var (token, hash) = TokenHash.Create();
        settings[$"Relay:Tokens:{name}:Hash"] = hash;
        settings[$"Relay:Tokens:{name}:Scopes"] = scopes;
        return token;
    }

    /// <summary>Gets a Basic <c>Authorization</c> header line.</summary>
    public static string BasicHeader(string user, string password) =>
        "Authorization: Basic " + Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes($"{user}:{password}"));

    /// <summary>Gets a Digest <c>Authorization</c> header line (MD5, without qop, as GStreamer sends it).</summary>
    public static string DigestHeader(string user, string password, string method, string uri, string nonce)
    {
        var ha1 = PasswordHash.DigestHa1("MD5", user, "Relay", password);
        var response = Digest.Response("MD5", ha1, method, uri, nonce, null, null, null);
        return $"Authorization: Digest username=\"{user}\", realm=\"Relay\", nonce=\"{nonce}\", uri=\"{uri}\", response=\"{response}\"";
    }

    /// <summary>Gets the nonce of a 401's Digest challenge.</summary>
    public static string NonceOf(RawResponse response) =>
        System.Text.RegularExpressions.Regex.Match(response.Headers["WWW-Authenticate"], "nonce=\"([^\"]+)\"").Groups[1].Value;
}
