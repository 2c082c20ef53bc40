using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Relay.Server.Health;

/// <summary><c>/healthz</c> (the process answers) and <c>/readyz</c> (listeners up, configuration loaded).</summary>
internal static class HealthEndpoints
{
    public static IEndpointRouteBuilder MapHealth(this IEndpointRouteBuilder app)
    {
        app.MapGet("/healthz", () => Results.Text("ok\n"))
            .WithTags("Health").WithName("Liveness").WithSummary("The process answers (text/plain \"ok\").").Produces<string>(StatusCodes.Status200OK, "text/plain");
        app.MapGet("/readyz", (Readiness readiness) =>
        {
            var problems = readiness.Problems();
            return problems.Count == 0
                ? Results.Text("ready\n")
                : Results.Text("not ready: " + string.Join("; ", problems) + "\n", statusCode: StatusCodes.Status503ServiceUnavailable);
        })
            .WithTags("Health").WithName("Readiness").WithSummary("Listeners up and configuration loaded (a camera being down does not make the relay unready).")
            .Produces<string>(StatusCodes.Status200OK, "text/plain").Produces<string>(StatusCodes.Status503ServiceUnavailable, "text/plain");
        return app;
    }
}
