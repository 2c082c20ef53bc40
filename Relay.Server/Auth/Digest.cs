using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace Relay.Server.Auth;

/// <summary>
/// HTTP Digest as RTSP uses it (RFC 7616, RFC 2617 without qop for the many RTSP clients that never send it): nonces
/// that carry their issue time and an HMAC under a per-process key, so any connection may use one while it is fresh and
/// none after it expires; a client with an expired but otherwise right answer is told <c>stale=true</c>.
/// </summary>
internal sealed class Digest(TimeProvider time)
{
    // Made on first use: the random bytes come from OpenSSL, and loading it costs a relay without users ~5 MB resident.
    private readonly Lazy<byte[]> _key = new(() => RandomNumberGenerator.GetBytes(32), LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>The outcome of checking a nonce.</summary>
    public enum NonceState
    {
        Valid,
        Stale,
        Forged,
    }

    /// <summary>Hashes <paramref name="text"/> with the Digest algorithm named (MD5 or SHA-256), lower-case hex.</summary>
    [System.Diagnostics.CodeAnalysis.SuppressMessage("Security", "CA5351", Justification = "Digest with MD5 is what older RTSP clients (VMS, FFmpeg, GStreamer) speak; SHA-256 is offered first.")]
    public static string Hash(string algorithm, string text)
    {
        var bytes = Encoding.UTF8.GetBytes(text);
        return Convert.ToHexStringLower(algorithm == "SHA-256" ? SHA256.HashData(bytes) : MD5.HashData(bytes));
    }

    /// <summary>Makes a nonce for now.</summary>
    public string NewNonce()
    {
        Span<byte> nonce = stackalloc byte[24];
        BinaryPrimitives.WriteInt64BigEndian(nonce, time.GetUtcNow().ToUnixTimeMilliseconds());
        HMACSHA256.HashData(_key.Value, nonce[..8])[..16].CopyTo(nonce[8..]);
        return Convert.ToHexStringLower(nonce);
    }

    /// <summary>Checks that a nonce is one of ours and younger than <paramref name="lifetime"/>.</summary>
    public NonceState Check(string nonce, TimeSpan lifetime)
    {
        Span<byte> bytes = stackalloc byte[24];
        if (nonce.Length != 48 || Convert.FromHexString(nonce, bytes, out _, out var written) != System.Buffers.OperationStatus.Done || written != 24)
        {
            return NonceState.Forged;
        }

        Span<byte> mac = stackalloc byte[32];
        HMACSHA256.HashData(_key.Value, bytes[..8], mac);
        if (!CryptographicOperations.FixedTimeEquals(mac[..16], bytes[8..]))
        {
            return NonceState.Forged;
        }

        var issued = DateTimeOffset.FromUnixTimeMilliseconds(BinaryPrimitives.ReadInt64BigEndian(bytes));
        var age = time.GetUtcNow() - issued;
        return age >= TimeSpan.Zero && age <= lifetime ? NonceState.Valid : NonceState.Stale;
    }

    /// <summary>
    /// The challenges of a 401: Digest with SHA-256, Digest with MD5, then Basic (strongest first, RFC 7616 §3.7), each
    /// only when some user can answer it (has Digest hashes, has a password hash).
    /// </summary>
    /// <remarks>
    /// Clients that know one Digest algorithm use the last Digest challenge they parse (FFmpeg and GStreamer both do),
    /// which is MD5 here, so they answer the one they can compute.
    /// </remarks>
    public IEnumerable<string> Challenges(string realm, bool stale, bool sha256, bool md5, bool basic)
    {
        var nonce = NewNonce();
        var staleParam = stale ? ", stale=true" : string.Empty;
        if (sha256)
        {
            yield return $"Digest realm=\"{realm}\", nonce=\"{nonce}\", algorithm=SHA-256, qop=\"auth\"{staleParam}";
        }

        if (md5)
        {
            yield return $"Digest realm=\"{realm}\", nonce=\"{nonce}\", algorithm=MD5, qop=\"auth\"{staleParam}";
        }

        if (basic)
        {
            yield return $"Basic realm=\"{realm}\", charset=\"UTF-8\"";
        }
    }

    /// <summary>Computes the response a client must send (RFC 7616 §3.4.1; without qop, RFC 2069's form).</summary>
    public static string Response(string algorithm, string ha1, string method, string uri, string nonce, string? qop, string? nc, string? cnonce)
    {
        var ha2 = Hash(algorithm, $"{method}:{uri}");
        return qop is null ? Hash(algorithm, $"{ha1}:{nonce}:{ha2}") : Hash(algorithm, $"{ha1}:{nonce}:{nc}:{cnonce}:{qop}:{ha2}");
    }

    /// <summary>Parses the parameters of a <c>Digest</c> credentials header (after the scheme): <c>k=v</c> or <c>k="v"</c>, comma-separated.</summary>
    /// <returns>The parameters (names lower case), or null when malformed.</returns>
    public static Dictionary<string, string>? ParseParameters(ReadOnlySpan<char> text)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        var i = 0;
        while (true)
        {
            while (i < text.Length && (text[i] is ' ' or '\t' or ','))
            {
                i++;
            }

            if (i >= text.Length)
            {
                return result;
            }

            var start = i;
            while (i < text.Length && text[i] is not ('=' or ' ' or ','))
            {
                i++;
            }

            if (i >= text.Length || text[i] != '=' || i == start || result.Count >= 32)
            {
                return null;
            }

            var name = text[start..i].ToString().ToLowerInvariant();
            i++;
            string value;
            if (i < text.Length && text[i] == '"')
            {
                var builder = new StringBuilder();
                i++;
                while (i < text.Length && text[i] != '"')
                {
                    if (text[i] == '\\' && i + 1 < text.Length)
                    {
                        i++;
                    }

                    builder.Append(text[i++]);
                }

                if (i >= text.Length)
                {
                    return null;
                }

                i++;
                value = builder.ToString();
            }
            else
            {
                start = i;
                while (i < text.Length && text[i] is not (',' or ' ' or '\t'))
                {
                    i++;
                }

                value = text[start..i].ToString();
            }

            result[name] = value;
        }
    }
}
