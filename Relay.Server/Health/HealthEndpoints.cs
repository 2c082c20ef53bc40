using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Relay.Server.Health;

/// <summary><c>/healthz</c> (the process answers) and <c>/readyz</c> (listeners up, configuration loaded).</summary>
internal static class HealthEndpoints
{
    public static IEndpointRouteBuilder MapHealth(this IEndpointRouteBuilder app)
    {
        app.MapGet("/healthz", () => Results.Text("ok\n"));
        app.MapGet("/readyz", (Readiness readiness) =>
        {
            var problems = readiness.Problems();
            return problems.Count == 0
                ? Results.Text("ready\n")
                : Results.Text("not ready: " + string.Join("; ", problems) + "\n", statusCode: StatusCodes.Status503ServiceUnavailable);
        });
        return app;
    }
}
