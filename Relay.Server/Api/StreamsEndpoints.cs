using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using Relay.Api;

namespace Relay.Server.Api;

/// <summary>
/// The read-only status API: <c>GET /api/v1/streams</c>, <c>GET /api/v1/streams/{name}</c>, and
/// <c>GET /api/v1/server</c> (version and RTSP port, for pages that show RTSP URLs).
/// </summary>
internal static class StreamsEndpoints
{
    public static IEndpointRouteBuilder MapStreamsApi(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/v1/streams");
        group.MapGet("/", (IStreamDirectory directory) => TypedResults.Ok(directory.GetAll()));
        group.MapGet("/{**name}", Results<Ok<StreamStatus>, ProblemHttpResult> (string name, IStreamDirectory directory) =>
            directory.Get(name) is { } status
                ? TypedResults.Ok(status)
                : TypedResults.Problem(statusCode: StatusCodes.Status404NotFound, title: "Stream not found", detail: $"There is no stream named '{name}'."));
        app.MapGet("/api/v1/server", (IStreamDirectory directory) => TypedResults.Ok(directory.GetServer()));
        return app;
    }
}
