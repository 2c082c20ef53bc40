using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Logging;
using Relay.Configuration;
using Relay.Server.Metrics;

namespace Relay.Server.Auth;

/// <summary>Who a request comes from, once authenticated, and what they may do.</summary>
internal sealed class Principal(string name, AccessScopes scopes, IReadOnlyList<string> read)
{
    /// <summary>Everyone, when no user or token is configured: every stream, reads over HTTP and metrics.</summary>
    public static readonly Principal Anonymous = new("anonymous", AccessScopes.Read | AccessScopes.Metrics, ["*"]);

    public string Name => name;

    public AccessScopes Scopes => scopes;

    /// <summary>Tells whether this principal may read the stream or channel at <paramref name="path"/>.</summary>
    public bool CanRead(string path)
    {
        foreach (var pattern in read)
        {
            if (Glob.Matches(pattern, path))
            {
                return true;
            }
        }

        return false;
    }
}

/// <summary>What an authentication attempt came to.</summary>
internal enum AuthStatus
{
    /// <summary>Authenticated (or authentication is off).</summary>
    Ok,

    /// <summary>No credentials were sent: challenge the client.</summary>
    Missing,

    /// <summary>A Digest answer that was right for a nonce that has expired: challenge again with <c>stale=true</c>.</summary>
    Stale,

    /// <summary>Wrong or unknown credentials, or a disallowed address: counted against the address.</summary>
    Failed,

    /// <summary>The address failed too often and is refused for now.</summary>
    Blocked,
}

/// <summary>The outcome of <see cref="AccessControl.Authenticate"/>.</summary>
internal readonly record struct AuthResult(AuthStatus Status, Principal? Principal, TimeSpan Delay = default, TimeSpan RetryAfter = default);

/// <summary>
/// Relay's users and tokens (<c>Relay:Users</c>, <c>Relay:Tokens</c>, <c>Relay:Auth</c>) and the one place that checks
/// credentials, for RTSP and HTTP alike: Basic (PBKDF2, verified results cached for a few minutes so a reader's
/// every request does not pay for it), Digest (see <see cref="Digest"/>) and Bearer tokens (SHA-256, compared in
/// constant time). Failed attempts are counted per address: after a few, answers are slowed down; after more, the
/// address is refused for a while (<see cref="FailureGate"/>).
/// </summary>
internal sealed partial class AccessControl
{
    private static readonly TimeSpan BasicCacheLifetime = TimeSpan.FromMinutes(5);
    private readonly TimeProvider _time;
    private readonly RelayMetrics? _metrics;
    private readonly ILogger _logger;
    private readonly ConcurrentDictionary<string, (Account Account, long Until)> _basicCache = new(StringComparer.Ordinal);
    private readonly ReportThrottle _failureReports;
    private State _state;

    public AccessControl(RelayConfig config, TimeProvider time, ILogger<AccessControl> logger, RelayMetrics? metrics = null)
    {
        _time = time;
        _metrics = metrics;
        _logger = logger;
        _state = new State(config.Auth);
        Digest = new Digest(time);
        Failures = new FailureGate(time, () => _state.Config);
        _failureReports = new ReportThrottle(time, TimeSpan.FromSeconds(10));
    }

    /// <summary>Gets a value indicating whether clients must authenticate.</summary>
    public bool Enabled => _state.Config.Enabled;

    public AuthConfig Config => _state.Config;

    public Digest Digest { get; }

    public FailureGate Failures { get; }

    /// <summary>The <c>WWW-Authenticate</c> challenges of an RTSP 401: the methods some configured user can answer.</summary>
    public IEnumerable<string> Challenges(bool stale)
    {
        var state = _state;
        return Digest.Challenges(
            state.Config.Realm,
            stale,
            sha256: state.Users.Values.Any(u => u.DigestSha256 is not null),
            md5: state.Users.Values.Any(u => u.DigestMd5 is not null),
            basic: state.Users.Values.Any(u => u.PasswordHash is not null));
    }

    /// <summary>Takes the users and tokens of a reloaded configuration.</summary>
    public void Update(AuthConfig config)
    {
        _state = new State(config);
        _basicCache.Clear();
    }

    /// <summary>Logs how access is controlled, once at start-up (loudly when it is not).</summary>
    public void LogMode()
    {
        var config = _state.Config;
        if (config.Enabled)
        {
            Log.Enabled(_logger, config.Users.Count, config.Tokens.Count, config.ProtectMetrics ? "needs the metrics scope" : "is open");
        }
        else
        {
            Log.Disabled(_logger);
        }
    }

    /// <summary>
    /// Checks the <c>Authorization</c> header of a request (RTSP or HTTP). <paramref name="method"/> and
    /// <paramref name="uri"/> are the request's, for Digest.
    /// </summary>
    public AuthResult Authenticate(string? authorization, string method, string uri, IPAddress address, string protocol)
    {
        var state = _state;
        if (!state.Config.Enabled)
        {
            return new AuthResult(AuthStatus.Ok, Principal.Anonymous);
        }

        if (Failures.BlockedFor(address) is { } retryAfter)
        {
            _metrics?.AuthRefused.WithLabels(protocol).Inc();
            return new AuthResult(AuthStatus.Blocked, null, RetryAfter: retryAfter);
        }

        if (string.IsNullOrWhiteSpace(authorization))
        {
            return new AuthResult(AuthStatus.Missing, null);
        }

        var space = authorization.IndexOf(' ', StringComparison.Ordinal);
        var scheme = space < 0 ? authorization : authorization[..space];
        var rest = space < 0 ? string.Empty : authorization[(space + 1)..].Trim();
        var (account, stale) = scheme.ToLowerInvariant() switch
        {
            "basic" => (CheckBasic(state, rest), false),
            "digest" => CheckDigest(state, rest, method, uri),
            "bearer" => (CheckBearer(state, rest), false),
            _ => (null, false),
        };

        if (account is not null && !AddressRange.Allows(account.Ranges, address))
        {
            account = null;
        }

        if (account is not null)
        {
            return stale ? new AuthResult(AuthStatus.Stale, null) : new AuthResult(AuthStatus.Ok, account.Principal);
        }

        _metrics?.ClientAuthFailures.WithLabels(protocol).Inc();
        var delay = Failures.Fail(address, out var nowBlocked);
        if (nowBlocked)
        {
            Log.AddressBlocked(_logger, address.ToString(), state.Config.BlockAfterFailures, state.Config.BlockDuration.TotalSeconds);
        }
        else if (_failureReports.Count(out var failures))
        {
            Log.Failed(_logger, failures, protocol, address.ToString());
        }

        _metrics?.AuthBlockedAddresses.Set(Failures.BlockedCount);
        return new AuthResult(AuthStatus.Failed, null, delay);
    }

    private Account? CheckBasic(State state, string encoded)
    {
        string decoded;
        try
        {
            decoded = Encoding.UTF8.GetString(Convert.FromBase64String(encoded));
        }
        catch (FormatException)
        {
            return null;
        }

        var colon = decoded.IndexOf(':', StringComparison.Ordinal);
        if (colon <= 0 || !state.Users.TryGetValue(decoded[..colon], out var account) || account.PasswordHash is not { } hash)
        {
            return null;
        }

        // Keyed by a hash of the credentials, not the credentials: the cache holds no password.
        var key = Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(decoded)));
        var now = _time.GetTimestamp();
        if (_basicCache.TryGetValue(key, out var cached) && cached.Account == account && now < cached.Until)
        {
            return account;
        }

        if (!PasswordHash.Verify(decoded[(colon + 1)..], hash))
        {
            return null;
        }

        if (_basicCache.Count > 10_000)
        {
            _basicCache.Clear();
        }

        _basicCache[key] = (account, now + (long)(BasicCacheLifetime.TotalSeconds * _time.TimestampFrequency));
        return account;
    }

    private (Account? Account, bool Stale) CheckDigest(State state, string text, string method, string uri)
    {
        if (Digest.ParseParameters(text) is not { } p
            || !p.TryGetValue("username", out var user) || !p.TryGetValue("nonce", out var nonce) || !p.TryGetValue("uri", out var digestUri)
            || !p.TryGetValue("response", out var response) || !p.TryGetValue("realm", out var realm) || realm != state.Config.Realm
            || !state.Users.TryGetValue(user, out var account) || !SameResource(digestUri, uri))
        {
            return (null, false);
        }

        var algorithm = p.GetValueOrDefault("algorithm")?.ToUpperInvariant() ?? "MD5";
        var ha1 = algorithm switch
        {
            "MD5" => account.DigestMd5,
            "SHA-256" => account.DigestSha256,
            _ => null,
        };
        p.TryGetValue("qop", out var qop);
        if (ha1 is null || (qop is not null && (qop != "auth" || !p.ContainsKey("nc") || !p.ContainsKey("cnonce"))))
        {
            return (null, false);
        }

        var expected = Digest.Response(algorithm, ha1, method, digestUri, nonce, qop, p.GetValueOrDefault("nc"), p.GetValueOrDefault("cnonce"));
        if (!CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(expected), Encoding.ASCII.GetBytes(response.ToLowerInvariant())))
        {
            return (null, false);
        }

        return Digest.Check(nonce, state.Config.NonceLifetime) switch
        {
            Digest.NonceState.Valid => (account, false),
            Digest.NonceState.Stale => (account, true),
            _ => (null, false),
        };
    }

    private static Account? CheckBearer(State state, string token)
    {
        var hash = Encoding.ASCII.GetBytes(TokenHash.Of(token));
        Account? found = null;
        foreach (var account in state.Tokens)
        {
            // Every token is compared, in constant time, so the time taken says nothing about which one was close.
            if (CryptographicOperations.FixedTimeEquals(hash, account.TokenHash!))
            {
                found = account;
            }
        }

        return found;
    }

    /// <summary>Tells whether a Digest <c>uri</c> names what the request does (absolute or path form, trailing slash aside).</summary>
    private static bool SameResource(string digestUri, string requestUri)
    {
        static string Path(string uri) =>
            (Uri.TryCreate(uri, UriKind.Absolute, out var u) && !uri.StartsWith('/') ? u.PathAndQuery : uri).TrimEnd('/');

        return digestUri == requestUri || string.Equals(Path(digestUri), Path(requestUri), StringComparison.Ordinal);
    }

    /// <summary>A user or token as checked: hashes and compiled address ranges.</summary>
    private sealed record Account(Principal Principal, string? PasswordHash, string? DigestMd5, string? DigestSha256, byte[]? TokenHash, IReadOnlyList<IPNetwork> Ranges);

    private sealed class State
    {
        public State(AuthConfig config)
        {
            Config = config;
            Users = config.Users.Values.ToDictionary(
                u => u.Name,
                u => new Account(new Principal(u.Name, u.Scopes, u.Read), u.PasswordHash, u.DigestMd5, u.DigestSha256, null, Ranges(u.Addresses)),
                StringComparer.Ordinal);
            Tokens = config.Tokens.Values
                .Select(t => new Account(new Principal("token " + t.Name, t.Scopes, t.Read), null, null, null, Encoding.ASCII.GetBytes(t.Hash.ToLowerInvariant()), Ranges(t.Addresses)))
                .ToArray();
        }

        public AuthConfig Config { get; }

        public Dictionary<string, Account> Users { get; }

        public Account[] Tokens { get; }

        private static IPNetwork[] Ranges(IReadOnlyList<string> ranges) =>
            ranges.Select(r => AddressRange.TryParse(r, out var n) ? n : (IPNetwork?)null).OfType<IPNetwork>().ToArray();
    }

    private static partial class Log
    {
        [LoggerMessage(EventIds.Auth, LogLevel.Information, "Authentication is on: {Users} user(s), {Tokens} token(s); /metrics {Metrics}.")]
        public static partial void Enabled(ILogger logger, int users, int tokens, string metrics);

        [LoggerMessage(EventIds.Auth + 1, LogLevel.Warning, "AUTHENTICATION IS OFF: anyone who can reach this relay can watch every stream, and API writes are only limited to loopback. Configure Relay:Users (and Relay:Tokens) to require credentials.")]
        public static partial void Disabled(ILogger logger);

        [LoggerMessage(EventIds.Auth + 2, LogLevel.Warning, "{Count} failed authentication(s) since the last report; latest over {Protocol} from {Client}.")]
        public static partial void Failed(ILogger logger, long count, string protocol, string client);

        [LoggerMessage(EventIds.Auth + 3, LogLevel.Warning, "{Client} failed to authenticate {Failures} times: refused for {Seconds} s (Relay:Auth:BlockAfterFailures, BlockDuration).")]
        public static partial void AddressBlocked(ILogger logger, string client, int failures, double seconds);
    }
}
