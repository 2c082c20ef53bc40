using System.Net;
using System.Text;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Relay.Configuration;
using Relay.Server.Auth;
using Relay.Server.Configuration;

namespace Relay.Tests.Auth;

/// <summary>The credential checks themselves, on a fake clock: Digest nonces, Basic, tokens, addresses, failure limits, patterns.</summary>
public sealed class AccessControlTests
{
    private const string Uri = "rtsp://127.0.0.1:8554/cam1";
    private static readonly IPAddress Client = IPAddress.Loopback;
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 12, 2, 12, 0, 0, TimeSpan.Zero));

    [Fact]
    public void A_digest_answer_is_accepted_while_its_nonce_is_fresh_then_stale_and_a_forged_nonce_fails()
    {
        var access = Create(User("vms", "pw"));
        var nonce = access.Digest.NewNonce();
        var header = DigestHeader("vms", "pw", nonce);

        var fresh = access.Authenticate(header, "DESCRIBE", Uri, Client, "rtsp");
        _time.Advance(TimeSpan.FromMinutes(5) + TimeSpan.FromMilliseconds(1));
        var stale = access.Authenticate(header, "DESCRIBE", Uri, Client, "rtsp");
        var forged = access.Authenticate(DigestHeader("vms", "pw", nonce[..^1] + (nonce[^1] == '0' ? '1' : '0')), "DESCRIBE", Uri, Client, "rtsp");
        var wrong = access.Authenticate(DigestHeader("vms", "guess", access.Digest.NewNonce()), "DESCRIBE", Uri, Client, "rtsp");

        Assert.Equal(AuthStatus.Ok, fresh.Status);
        Assert.Equal("vms", fresh.Principal!.Name);
        Assert.Equal(AuthStatus.Stale, stale.Status);
        Assert.Equal(AuthStatus.Failed, forged.Status);
        Assert.Equal(AuthStatus.Failed, wrong.Status);
    }

    [Fact]
    public void Digest_with_sha256_and_qop_is_accepted_and_bound_to_the_method_and_resource()
    {
        var access = Create(User("vms", "pw"));
        var nonce = access.Digest.NewNonce();
        var ha1 = PasswordHash.DigestHa1("SHA-256", "vms", "Relay", "pw");
        var response = Digest.Response("SHA-256", ha1, "SETUP", Uri + "/trackID=0", nonce, "auth", "00000001", "abc");
        var header = $"Digest username=\"vms\", realm=\"Relay\", nonce=\"{nonce}\", uri=\"{Uri}/trackID=0\", algorithm=SHA-256, qop=auth, nc=00000001, cnonce=\"abc\", response=\"{response}\"";

        var ok = access.Authenticate(header, "SETUP", Uri + "/trackID=0", Client, "rtsp");
        var otherMethod = access.Authenticate(header, "PLAY", Uri + "/trackID=0", Client, "rtsp");
        var otherResource = access.Authenticate(header, "SETUP", "rtsp://127.0.0.1:8554/cam2/trackID=0", Client, "rtsp");

        Assert.Equal(AuthStatus.Ok, ok.Status);
        Assert.Equal(AuthStatus.Failed, otherMethod.Status);
        Assert.Equal(AuthStatus.Failed, otherResource.Status);
    }

    [Theory]
    [InlineData("Basic dm1zOnB3", "Ok")] // vms:pw
    [InlineData("Basic dm1zOmd1ZXNz", "Failed")] // vms:guess
    [InlineData("Basic bm9ib2R5OnB3", "Failed")] // nobody:pw
    [InlineData("Basic !!!", "Failed")]
    [InlineData("Digest garbage", "Failed")]
    [InlineData("Digest username=\"vms\", realm=\"Relay\", nonce=\"", "Failed")]
    [InlineData("Negotiate abc", "Failed")]
    [InlineData(null, "Missing")]
    public void Basic_and_malformed_credentials(string? header, string expected)
    {
        var access = Create(User("vms", "pw"));

        Assert.Equal(Enum.Parse<AuthStatus>(expected), access.Authenticate(header, "DESCRIBE", Uri, Client, "rtsp").Status);
    }

    [Fact]
    public void A_token_is_known_by_its_hash_and_carries_its_scopes()
    {
        var (token, hash) = TokenHash.Create();
        var access = Create(new Dictionary<string, string?> { ["Relay:Tokens:ci:Hash"] = hash, ["Relay:Tokens:ci:Scopes"] = "read,metrics" });

        var ok = access.Authenticate("Bearer " + token, "GET", "/api/v1/streams", Client, "http");
        var wrong = access.Authenticate("Bearer " + token + "x", "GET", "/api/v1/streams", Client, "http");

        Assert.Equal(AuthStatus.Ok, ok.Status);
        Assert.Equal(AccessScopes.Read | AccessScopes.Metrics, ok.Principal!.Scopes);
        Assert.Equal(AuthStatus.Failed, wrong.Status);
    }

    [Fact]
    public void A_user_limited_to_address_ranges_is_refused_elsewhere()
    {
        var settings = User("vms", "pw");
        settings["Relay:Users:vms:Addresses"] = "10.0.0.0/8, fd00::/8";
        var access = Create(settings);
        var header = "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes("vms:pw"));

        Assert.Equal(AuthStatus.Ok, access.Authenticate(header, "DESCRIBE", Uri, IPAddress.Parse("10.1.2.3"), "rtsp").Status);
        Assert.Equal(AuthStatus.Ok, access.Authenticate(header, "DESCRIBE", Uri, IPAddress.Parse("10.1.2.3").MapToIPv6(), "rtsp").Status);
        Assert.Equal(AuthStatus.Ok, access.Authenticate(header, "DESCRIBE", Uri, IPAddress.Parse("fd00::5"), "rtsp").Status);
        Assert.Equal(AuthStatus.Failed, access.Authenticate(header, "DESCRIBE", Uri, IPAddress.Parse("192.168.1.9"), "rtsp").Status);
    }

    [Fact]
    public void Failures_are_slowed_down_then_the_address_is_blocked_until_the_block_ends()
    {
        var settings = User("vms", "pw");
        settings["Relay:Auth:SlowAfterFailures"] = "2";
        settings["Relay:Auth:BlockAfterFailures"] = "5";
        settings["Relay:Auth:BlockDuration"] = "60s";
        var access = Create(settings);
        var wrong = "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes("vms:guess"));
        var right = "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes("vms:pw"));

        var delays = Enumerable.Range(0, 5).Select(_ => access.Authenticate(wrong, "DESCRIBE", Uri, Client, "rtsp")).ToList();
        var blocked = access.Authenticate(right, "DESCRIBE", Uri, Client, "rtsp");
        var otherAddress = access.Authenticate(right, "DESCRIBE", Uri, IPAddress.Parse("127.0.0.2"), "rtsp");
        _time.Advance(TimeSpan.FromSeconds(61));
        var afterBlock = access.Authenticate(right, "DESCRIBE", Uri, Client, "rtsp");

        Assert.Equal([0, 0, 1, 2, 0], delays.Select(d => d.Delay.TotalSeconds));
        Assert.All(delays, d => Assert.Equal(AuthStatus.Failed, d.Status));
        Assert.Equal(AuthStatus.Blocked, blocked.Status);
        Assert.Equal(TimeSpan.FromSeconds(60), blocked.RetryAfter);
        Assert.Equal(AuthStatus.Ok, otherAddress.Status);
        Assert.Equal(AuthStatus.Ok, afterBlock.Status);
    }

    [Fact]
    public void The_failure_table_stays_bounded_under_many_addresses()
    {
        var gate = new FailureGate(_time, () => new AuthConfig());
        for (var i = 0; i < 3 * FailureGate.MaxAddresses; i++)
        {
            gate.Fail(new IPAddress(BitConverter.GetBytes(0x0a000000 + i)), out _);
        }

        Assert.InRange(gate.AddressCount, 1, FailureGate.MaxAddresses);
    }

    [Fact]
    public void Without_users_or_tokens_everyone_reads_everything()
    {
        var access = Create([]);

        var result = access.Authenticate(null, "DESCRIBE", Uri, Client, "rtsp");

        Assert.False(access.Enabled);
        Assert.Equal(AuthStatus.Ok, result.Status);
        Assert.True(result.Principal!.CanRead("any/stream"));
    }

    [Theory]
    [InlineData("*", "cam1", true)]
    [InlineData("cam?", "cam1", true)]
    [InlineData("cam?", "cam12", false)]
    [InlineData("site-a/*", "site-a/door", true)]
    [InlineData("site-a/*", "site-b/door", false)]
    [InlineData("CAM1", "cam1", true)]
    [InlineData("*door*", "site/backdoor/2", true)]
    [InlineData("lobby", "lobby2", false)]
    public void Read_patterns_match_stream_names(string pattern, string name, bool matches) =>
        Assert.Equal(matches, Glob.Matches(pattern, name));

    [Theory]
    [InlineData("Relay:Users:vms:PasswordHash", "md5$abc", "Relay:Users:vms:PasswordHash")]
    [InlineData("Relay:Users:vms:DigestMd5", "xyz", "Relay:Users:vms:DigestMd5")]
    [InlineData("Relay:Users:vms:Scopes", "read,admin", "Relay:Users:vms:Scopes")]
    [InlineData("Relay:Users:vms:Addresses", "10.0.0.0/33", "Relay:Users:vms:Addresses")]
    [InlineData("Relay:Users:vms:Read", "cam 1", "Relay:Users:vms:Read")]
    [InlineData("Relay:Tokens:ci:Hash", "sha256$00", "Relay:Tokens:ci:Hash")]
    [InlineData("Relay:Auth:Realm", "a\"b", "Relay:Auth:Realm")]
    [InlineData("Relay:Auth:Nonce", "5s", "Relay:Auth:Nonce")]
    public void Bad_access_settings_are_named(string key, string value, string named)
    {
        var settings = User("vms", "pw");
        settings[key] = value;

        var (config, errors) = RelayConfigLoader.Load(new ConfigurationBuilder().AddInMemoryCollection(settings).Build());

        Assert.Null(config);
        Assert.Contains(errors, e => e.StartsWith(named, StringComparison.Ordinal));
    }

    private static Dictionary<string, string?> User(string name, string password) => new()
    {
        [$"Relay:Users:{name}:PasswordHash"] = PasswordHash.Create(password, iterations: 1000),
        [$"Relay:Users:{name}:DigestMd5"] = PasswordHash.DigestHa1("MD5", name, "Relay", password),
        [$"Relay:Users:{name}:DigestSha256"] = PasswordHash.DigestHa1("SHA-256", name, "Relay", password),
    };

    private static string DigestHeader(string user, string password, string nonce)
    {
        var response = Digest.Response("MD5", PasswordHash.DigestHa1("MD5", user, "Relay", password), "DESCRIBE", Uri, nonce, null, null, null);
        return $"Digest username=\"{user}\", realm=\"Relay\", nonce=\"{nonce}\", uri=\"{Uri}\", response=\"{response}\"";
    }

    private AccessControl Create(Dictionary<string, string?> settings)
    {
        var (config, errors) = RelayConfigLoader.Load(new ConfigurationBuilder().AddInMemoryCollection(settings).Build());
        Assert.True(config is not null, string.Join("\n", errors));
        return new AccessControl(config, _time, NullLogger<AccessControl>.Instance);
    }
}
