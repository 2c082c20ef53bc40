using System.Globalization;
using System.Net;
using System.Security.Claims;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Relay.Configuration;

namespace Relay.Server.Auth;

/// <summary>The authorization policies of Relay's HTTP endpoints, one per scope.</summary>
internal static class Policies
{
    /// <summary>The API's reads, the web pages and the stream outputs (each stream also checked against the user's Read patterns).</summary>
    public const string Read = "read";

    /// <summary>The API's writes and the manager page.</summary>
    public const string Write = "write";

    /// <summary><c>/metrics</c>, when <see cref="AuthConfig.ProtectMetrics"/> is set.</summary>
    public const string Metrics = "metrics";

    private const string ScopeClaim = "scope";

    /// <summary>Adds the authentication scheme (Basic and Bearer) and the three policies.</summary>
    public static IServiceCollection AddRelayAuth(this IServiceCollection services)
    {
        services.AddSingleton<AccessControl>();
        // The authentication core only: AddAuthentication would also bring Data Protection, which Relay's scheme never
        // uses (no cookies, no antiforgery). Its key ring loaded OpenSSL at start (~5 MB resident) and wrote key files
        // under the home directory, and its XML key store put System.Xml into the binary.
        services.AddAuthenticationCore(o => o.DefaultScheme = RelayAuthenticationHandler.Scheme);
        services.AddWebEncoders();
        new AuthenticationBuilder(services)
            .AddScheme<AuthenticationSchemeOptions, RelayAuthenticationHandler>(RelayAuthenticationHandler.Scheme, null);
        services.AddSingleton<IAuthorizationHandler, ScopeHandler>();
        services.AddAuthorizationBuilder()
            .AddPolicy(Read, p => p.AddRequirements(new ScopeRequirement(AccessScopes.Read)))
            .AddPolicy(Write, p => p.AddRequirements(new ScopeRequirement(AccessScopes.Write)))
            .AddPolicy(Metrics, p => p.AddRequirements(new ScopeRequirement(AccessScopes.Metrics)));
        return services;
    }

    /// <summary>Gets who made an HTTP request (<see cref="Principal.Anonymous"/> when authentication is off).</summary>
    public static Principal PrincipalOf(HttpContext context) =>
        context.Items.TryGetValue(typeof(Principal), out var p) && p is Principal principal ? principal : Principal.Anonymous;

    /// <summary>Tells whether the request may read the stream or channel <paramref name="name"/>.</summary>
    public static bool CanRead(HttpContext context, string name) => PrincipalOf(context).CanRead(name);

    internal static ClaimsPrincipal ToClaims(Principal principal)
    {
        var claims = new List<Claim> { new(ClaimTypes.Name, principal.Name) };
        foreach (var scope in new[] { AccessScopes.Read, AccessScopes.Write, AccessScopes.Metrics })
        {
            if (principal.Scopes.HasFlag(scope))
            {
                claims.Add(new Claim(ScopeClaim, scope.ToString().ToLowerInvariant()));
            }
        }

        return new ClaimsPrincipal(new ClaimsIdentity(claims, RelayAuthenticationHandler.Scheme));
    }

    internal static bool HasScope(ClaimsPrincipal user, AccessScopes scope) => user.HasClaim(ScopeClaim, scope.ToString().ToLowerInvariant());
}

/// <summary>A policy's need: one scope.</summary>
internal sealed record ScopeRequirement(AccessScopes Scope) : IAuthorizationRequirement;

/// <summary>
/// Grants a scope: with authentication off, reads and metrics are open and writes are left to the loopback rule
/// (<see cref="Api.WriteAccess"/>); with it on, the user or token must hold the scope (metrics stay open unless
/// <see cref="AuthConfig.ProtectMetrics"/> is set).
/// </summary>
internal sealed class ScopeHandler(AccessControl access) : AuthorizationHandler<ScopeRequirement>
{
    protected override Task HandleRequirementAsync(AuthorizationHandlerContext context, ScopeRequirement requirement)
    {
        if (!access.Enabled
            || (requirement.Scope == AccessScopes.Metrics && !access.Config.ProtectMetrics)
            || Policies.HasScope(context.User, requirement.Scope))
        {
            context.Succeed(requirement);
        }

        return Task.CompletedTask;
    }
}

/// <summary>
/// Relay's one HTTP authentication scheme: <c>Basic</c> with a configured user, or <c>Bearer</c> with a configured token,
/// both checked by <see cref="AccessControl"/> (which also counts failures per address). The challenge offers both; an
/// address refused for too many failures gets 429 with <c>Retry-After</c>.
/// </summary>
internal sealed class RelayAuthenticationHandler(IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder, AccessControl access)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    public new const string Scheme = "Relay";

    private const string BlockedKey = "relay.auth.blocked";

    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        if (!access.Enabled)
        {
            return AuthenticateResult.NoResult();
        }

        var header = Request.Headers.Authorization.ToString();
        var address = Context.Connection.RemoteIpAddress ?? IPAddress.None;
        var result = access.Authenticate(header.Length == 0 ? null : header, Request.Method, Request.Path + Request.QueryString, address, "http");
        switch (result.Status)
        {
            case AuthStatus.Ok:
                Context.Items[typeof(Principal)] = result.Principal;
                return AuthenticateResult.Success(new AuthenticationTicket(Policies.ToClaims(result.Principal!), Scheme));
            case AuthStatus.Missing:
                return AuthenticateResult.NoResult();
            case AuthStatus.Blocked:
                Context.Items[BlockedKey] = result.RetryAfter;
                return AuthenticateResult.Fail("too many failed authentications from this address");
            default:
                if (result.Delay > TimeSpan.Zero)
                {
                    await Task.Delay(result.Delay, TimeProvider, Context.RequestAborted);
                }

                return AuthenticateResult.Fail("wrong credentials");
        }
    }

    protected override Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        if (Context.Items.TryGetValue(BlockedKey, out var value) && value is TimeSpan retryAfter)
        {
            Response.StatusCode = StatusCodes.Status429TooManyRequests;
            Response.Headers.RetryAfter = ((int)Math.Ceiling(retryAfter.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
            return Task.CompletedTask;
        }

        Response.StatusCode = StatusCodes.Status401Unauthorized;
        Response.Headers.Append("WWW-Authenticate", $"Basic realm=\"{access.Config.Realm}\", charset=\"UTF-8\"");
        Response.Headers.Append("WWW-Authenticate", $"Bearer realm=\"{access.Config.Realm}\"");
        return Task.CompletedTask;
    }
}
