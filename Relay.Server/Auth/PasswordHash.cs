using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Relay.Server.Auth;

/// <summary>
/// Password hashes as configured for a user: a salted PBKDF2-SHA256 hash (checked for Basic, over RTSP and HTTP) and
/// the Digest H(A1) values (RFC 7616 §3.4.2: H(user:realm:password), with MD5 and SHA-256), which a Digest server
/// cannot do without. The Digest values are password-equivalent for Digest itself: keep the configuration private.
/// </summary>
internal static class PasswordHash
{
    /// <summary>The PBKDF2 iterations of new hashes (a verification costs a few tens of milliseconds, and is cached).</summary>
    public const int Iterations = 100_000;

    private const string Prefix = "pbkdf2-sha256$";

    /// <summary>Makes a PBKDF2 hash of <paramref name="password"/> with a fresh random salt.</summary>
    public static string Create(string password, int iterations = Iterations)
    {
        var salt = RandomNumberGenerator.GetBytes(16);
        var hash = Rfc2898DeriveBytes.Pbkdf2(Encoding.UTF8.GetBytes(password), salt, iterations, HashAlgorithmName.SHA256, 32);
        return string.Create(CultureInfo.InvariantCulture, $"{Prefix}{iterations}${Convert.ToBase64String(salt)}${Convert.ToBase64String(hash)}");
    }

    /// <summary>Tells whether <paramref name="text"/> is a hash <see cref="Create"/> could have made.</summary>
    public static bool IsWellFormed(string text) => TryParse(text, out _, out _, out _);

    /// <summary>Checks <paramref name="password"/> against <paramref name="hash"/> in constant time.</summary>
    public static bool Verify(string password, string hash)
    {
        if (!TryParse(hash, out var iterations, out var salt, out var expected))
        {
            return false;
        }

        var actual = Rfc2898DeriveBytes.Pbkdf2(Encoding.UTF8.GetBytes(password), salt, iterations, HashAlgorithmName.SHA256, expected.Length);
        return CryptographicOperations.FixedTimeEquals(actual, expected);
    }

    /// <summary>Computes the Digest H(A1) for one algorithm ("MD5" or "SHA-256"), lower-case hex.</summary>
    public static string DigestHa1(string algorithm, string user, string realm, string password) =>
        Digest.Hash(algorithm, $"{user}:{realm}:{password}");

    private static bool TryParse(string text, out int iterations, out byte[] salt, out byte[] hash)
    {
        iterations = 0;
        salt = hash = [];
        var parts = text.Split('$');
        if (parts.Length != 4 || parts[0] + "$" != Prefix
            || !int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out iterations) || iterations is < 1000 or > 10_000_000)
        {
            return false;
        }

        try
        {
            salt = Convert.FromBase64String(parts[2]);
            hash = Convert.FromBase64String(parts[3]);
        }
        catch (FormatException)
        {
            return false;
        }

        return salt.Length >= 8 && hash.Length is >= 16 and <= 64;
    }
}

/// <summary>API tokens: random, 32 bytes, sent as <c>Bearer relay_…</c>; only their SHA-256 is configured.</summary>
internal static class TokenHash
{
    private const string Prefix = "sha256$";

    /// <summary>Makes a new token and the hash to configure for it.</summary>
    public static (string Token, string Hash) Create()
    {
        var token = "relay_" + Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
        return (token, Of(token));
    }

    /// <summary>Gets the hash of a token, as configured.</summary>
    public static string Of(string token) => Prefix + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(token)));

    public static bool IsWellFormed(string text) =>
        text.StartsWith(Prefix, StringComparison.OrdinalIgnoreCase) && text.Length == Prefix.Length + 64 && text[Prefix.Length..].All(char.IsAsciiHexDigit);
}
