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
internal static class OutputEndpoints
{
    /// <summary>The CORS policy of the outputs: any origin may read.</summary>
    public const string CorsPolicy = "outputs";

    public static IEndpointRouteBuilder MapOutputs(this IEndpointRouteBuilder app)
    {
        app.MapGet("/streams/{**path}", (HttpContext context, string path, IStreamCatalog catalog, HlsServer hls, SnapshotService snapshots, MjpegServer mjpeg) =>
        {
            var slash = path.LastIndexOf('/');
            if (slash <= 0)
            {
                return Task.FromResult(Results.Problem(statusCode: StatusCodes.Status404NotFound, title: "Not found", detail: "Use /streams/{name}/index.m3u8."));
            }

            var name = path[..slash];
            var file = path[(slash + 1)..];
            if (!catalog.TryGetStream(name, out var stream))
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
        }).RequireCors(CorsPolicy);
        return app;
    }
}
