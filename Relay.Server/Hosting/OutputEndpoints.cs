using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Relay.Server.Hls;
using Relay.Server.Mjpeg;
using Relay.Server.Streams;

namespace Relay.Server.Hosting;

/// <summary>
/// The browser outputs of every stream under <c>/streams/{name}/…</c>: HLS (<c>index.m3u8</c> and what it lists),
/// <c>snapshot.jpg</c> and <c>mjpeg</c>.
/// Stream names may contain slashes, so one route takes the whole path and the last segment says which output.
/// Readable from any origin (CORS), so a page elsewhere can embed a stream.
/// </summary>
/// <remarks>
/// CORS is two headers here rather than ASP.NET Core's CORS middleware: in the Native AOT build that middleware is
/// invoked through reflection and builds its transient policy provider by reflection on every request, which cost about
/// a tenth of the CPU of serving 20 low-latency HLS players (each makes about ten requests a second).
/// </remarks>
internal static class OutputEndpoints
{
    public static IEndpointRouteBuilder MapOutputs(this IEndpointRouteBuilder app)
    {
        app.MapMethods("/streams/{**path}", [HttpMethods.Options], (HttpContext context) =>
        {
            // A preflight, for pages that send headers of their own (simple GETs need none).
            var headers = context.Response.Headers;
            headers.AccessControlAllowOrigin = "*";
            headers.AccessControlAllowMethods = "GET, HEAD, OPTIONS";
            headers.AccessControlAllowHeaders = context.Request.Headers.AccessControlRequestHeaders.Count > 0 ? context.Request.Headers.AccessControlRequestHeaders : "*";
            headers.AccessControlMaxAge = "86400";
            return Results.NoContent();
        }).ExcludeFromDescription();
        app.MapGet("/streams/{**path}", (HttpContext context, string path, IStreamCatalog catalog, HlsServer hls, SnapshotService snapshots, MjpegServer mjpeg) =>
        {
            context.Response.Headers.AccessControlAllowOrigin = "*";
            var slash = path.LastIndexOf('/');
            if (slash <= 0)
            {
                return Task.FromResult(Results.Problem(statusCode: StatusCodes.Status404NotFound, title: "Not found", detail: "Use /streams/{name}/index.m3u8."));
            }

            var name = path[..slash];
            var file = path[(slash + 1)..];
            if (!Auth.Policies.CanRead(context, name))
            {
                return Task.FromResult(Results.Problem(statusCode: StatusCodes.Status403Forbidden, title: "Forbidden", detail: $"You may not read '{name}'."));
            }

            if (!catalog.TryGetHub(name, out var stream))
            {
                return Task.FromResult(Results.Problem(statusCode: StatusCodes.Status404NotFound, title: "Stream not found", detail: $"There is no stream named '{name}'."));
            }

            if (HlsEndpoints.Handles(file))
            {
                return HlsEndpoints.HandleAsync(context, hls, stream, file);
            }

            if (MjpegEndpoints.Handles(file))
            {
                return MjpegEndpoints.HandleAsync(context, snapshots, mjpeg, stream, file);
            }

            return Task.FromResult(Results.Problem(statusCode: StatusCodes.Status404NotFound, title: "Not found", detail: $"Stream '{stream.Name}' has no output '{file}'."));
        })
            .RequireAuthorization(Auth.Policies.Read).WithTags("Outputs").WithName("Output")
            .WithSummary("A stream's or channel's browser outputs: {name}/index.m3u8 and stream.m3u8 (LL-HLS, _HLS_msn/_HLS_part), their fMP4 parts and segments, {name}/snapshot.jpg?width=W, {name}/mjpeg?width=W&fps=F.")
            .Produces<string>(StatusCodes.Status200OK, "application/vnd.apple.mpegurl", "video/mp4", "image/jpeg", "multipart/x-mixed-replace")
            .Produces(StatusCodes.Status304NotModified)
            .ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status503ServiceUnavailable);
        return app;
    }
}
