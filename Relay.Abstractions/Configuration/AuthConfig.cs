namespace Relay.Configuration;

/// <summary>
/// Who may read and change the relay (<c>Relay:Users</c>, <c>Relay:Tokens</c> and <c>Relay:Auth</c>). With no user and
/// no token, anyone who reaches the relay may read every stream (and API writes are taken from loopback only).
/// </summary>
public sealed record AuthConfig
{
    /// <summary>Gets the users, by name (case-sensitive, as RTSP and HTTP clients send it).</summary>
    public IReadOnlyDictionary<string, UserConfig> Users { get; init; } = new Dictionary<string, UserConfig>(StringComparer.Ordinal);

    /// <summary>Gets the API tokens, by name (the name only labels the token in logs).</summary>
    public IReadOnlyDictionary<string, TokenConfig> Tokens { get; init; } = new Dictionary<string, TokenConfig>(StringComparer.Ordinal);

    /// <summary>Gets a value indicating whether readers and API clients must authenticate (some user or token exists).</summary>
    public bool Enabled => Users.Count > 0 || Tokens.Count > 0;

    /// <summary>
    /// Gets the realm of the RTSP and HTTP challenges. Digest password hashes are made for one realm: changing it
    /// needs new hashes. <value>The default value is <c>Relay</c>.</value>
    /// </summary>
    public string Realm { get; init; } = "Relay";

    /// <summary>Gets how long an RTSP Digest nonce is accepted; then the client is asked again (<c>stale=true</c>). <value>The default value is 5 min.</value></summary>
    public TimeSpan NonceLifetime { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>Gets a value indicating whether <c>/metrics</c> needs a user or token with the <c>metrics</c> scope. <value>The default value is false.</value></summary>
    public bool ProtectMetrics { get; init; }

    /// <summary>Gets how many failed authentications from one address are answered at once; later ones are slowed down. <value>The default value is 3.</value></summary>
    public int SlowAfterFailures { get; init; } = 3;

    /// <summary>Gets how many failed authentications from one address (within <see cref="FailureWindow"/>) block it. <value>The default value is 10.</value></summary>
    public int BlockAfterFailures { get; init; } = 10;

    /// <summary>Gets how long failed authentications are remembered per address. <value>The default value is 5 min.</value></summary>
    public TimeSpan FailureWindow { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>Gets how long a blocked address is refused (every request, right password or not). <value>The default value is 5 min.</value></summary>
    public TimeSpan BlockDuration { get; init; } = TimeSpan.FromMinutes(5);
}

/// <summary>What a user or a token may do over HTTP.</summary>
[Flags]
public enum AccessScopes
{
    /// <summary>Nothing.</summary>
    None = 0,

    /// <summary>Read the API, the web pages and the streams' outputs (limited by <see cref="UserConfig.Read"/>).</summary>
    Read = 1,

    /// <summary>Change streams and channels through the API (the manager page).</summary>
    Write = 2,

    /// <summary>Scrape <c>/metrics</c> (when <see cref="AuthConfig.ProtectMetrics"/> is set).</summary>
    Metrics = 4,
}

/// <summary>One user (<c>Relay:Users:{name}</c>): RTSP readers and web/API users with Basic or Digest.</summary>
public sealed record UserConfig
{
    /// <summary>Gets the user name.</summary>
    public required string Name { get; init; }

    /// <summary>Gets the salted PBKDF2 hash of the password (<c>pbkdf2-sha256$iterations$salt$hash</c>), checked for Basic.</summary>
    public string? PasswordHash { get; init; }

    /// <summary>Gets H(user:realm:password) with MD5, hex, for RTSP Digest with MD5 (older VMS clients).</summary>
    public string? DigestMd5 { get; init; }

    /// <summary>Gets H(user:realm:password) with SHA-256, hex, for RTSP Digest with SHA-256.</summary>
    public string? DigestSha256 { get; init; }

    /// <summary>Gets the streams and channels the user may read: names or patterns (<c>*</c> any run of characters, <c>?</c> one). <value>The default value is every stream.</value></summary>
    public IReadOnlyList<string> Read { get; init; } = ["*"];

    /// <summary>Gets what the user may do over HTTP. <value>The default value is <see cref="AccessScopes.Read"/>.</value></summary>
    public AccessScopes Scopes { get; init; } = AccessScopes.Read;

    /// <summary>Gets the client address ranges (CIDR) the user may come from; empty: any.</summary>
    public IReadOnlyList<string> Addresses { get; init; } = [];
}

/// <summary>One API token (<c>Relay:Tokens:{name}</c>), sent as <c>Authorization: Bearer …</c>.</summary>
public sealed record TokenConfig
{
    /// <summary>Gets the token's name (for logs).</summary>
    public required string Name { get; init; }

    /// <summary>Gets the SHA-256 of the token, hex (<c>sha256$…</c>); the token itself is never stored.</summary>
    public required string Hash { get; init; }

    /// <summary>Gets what the token may do.</summary>
    public AccessScopes Scopes { get; init; } = AccessScopes.Read;

    /// <summary>Gets the streams and channels the token may read through the outputs. <value>The default value is every stream.</value></summary>
    public IReadOnlyList<string> Read { get; init; } = ["*"];

    /// <summary>Gets the client address ranges (CIDR) the token may be used from; empty: any.</summary>
    public IReadOnlyList<string> Addresses { get; init; } = [];
}
