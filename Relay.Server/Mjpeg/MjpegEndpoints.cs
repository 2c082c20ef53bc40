using System.Buffers;
using System.Globalization;
using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Primitives;
using Microsoft.Net.Http.Headers;
using Relay.Server.Streams;

namespace Relay.Server.Mjpeg;

/// <summary>
/// HTTP answers for a stream's JPEG outputs: <c>snapshot.jpg?width=W</c> (one picture, with ETag and
/// Last-Modified) and <c>mjpeg?width=W&amp;fps=F</c> (<c>multipart/x-mixed-replace</c>, one part per picture).
/// </summary>
internal static class MjpegEndpoints
{
    public const string Snapshot = "snapshot.jpg";
    public const string Mjpeg = "mjpeg";
    private const int DefaultFps = 5;
    private const string Boundary = "relayframe";

    /// <summary>Tells whether <paramref name="file"/> names a JPEG output.</summary>
    public static bool Handles(string file) => file is Snapshot or Mjpeg;

    /// <summary>Answers a request for <paramref name="file"/> of <paramref name="stream"/>.</summary>
    public static async Task<IResult> HandleAsync(HttpContext context, SnapshotService snapshots, MjpegServer mjpeg, StreamHub stream, string file)
    {
        var config = mjpeg.Config;
        var query = context.Request.Query;
        if (!TryReadInt(query, "width", 16, config.MaxWidth, out var width, out var problem)
            || !TryReadInt(query, "fps", 1, config.MaxFps, out var fps, out problem))
        {
            return Results.Problem(statusCode: StatusCodes.Status400BadRequest, title: "Bad picture request", detail: problem);
        }

        var tracks = stream.Tracks;
        if (tracks.Count > 0 && !tracks.Any(JpegPipeline.CanDecode))
        {
            return Results.Problem(
                statusCode: StatusCodes.Status404NotFound,
                title: "No pictures",
                detail: $"Stream '{stream.Name}' has no H.264 or H.265 video to make pictures from.");
        }

        if (file == Snapshot)
        {
            return await SnapshotAsync(context, snapshots, stream, width);
        }

        if (mjpeg.Join(stream, width, fps ?? DefaultFps, context.Connection.RemoteIpAddress) is not var (feed, viewer))
        {
            context.Response.Headers.RetryAfter = "5";
            return Results.Problem(
                statusCode: StatusCodes.Status503ServiceUnavailable,
                title: "Too many MJPEG viewers",
                detail: $"The relay serves at most {config.MaxViewers} MJPEG viewers at once (Relay:Mjpeg:MaxViewers).");
        }

        try
        {
            await StreamPicturesAsync(context, viewer);
        }
        finally
        {
            mjpeg.Leave(feed, viewer);
        }

        return Results.Empty;
    }

    private static async Task<IResult> SnapshotAsync(HttpContext context, SnapshotService snapshots, StreamHub stream, int? width)
    {
        var snapshot = await snapshots.GetAsync(stream, width, context.RequestAborted);
        if (snapshot is null)
        {
            context.Response.Headers.RetryAfter = "5";
            return Results.Problem(
                statusCode: StatusCodes.Status503ServiceUnavailable,
                title: "No picture yet",
                detail: $"Stream '{stream.Name}' has not delivered a keyframe; try again shortly.");
        }

        var headers = context.Response.GetTypedHeaders();
        headers.CacheControl = new CacheControlHeaderValue { NoCache = true };
        var tag = new EntityTagHeaderValue(snapshot.ETag);
        headers.ETag = tag;
        headers.LastModified = snapshot.LastModified;
        var ifNoneMatch = context.Request.GetTypedHeaders().IfNoneMatch;
        if (ifNoneMatch.Any(t => t.Compare(tag, useStrongComparison: false) || t.Equals(EntityTagHeaderValue.Any)))
        {
            return Results.StatusCode(StatusCodes.Status304NotModified);
        }

        return Results.Bytes(snapshot.Jpeg, "image/jpeg");
    }

    private static async Task StreamPicturesAsync(HttpContext context, MjpegViewer viewer)
    {
        var response = context.Response;
        response.ContentType = $"multipart/x-mixed-replace; boundary={Boundary}";
        response.Headers.CacheControl = "no-store";
        response.Headers.Pragma = "no-cache";
        try
        {
            await response.StartAsync(context.RequestAborted);
            while (await viewer.NextAsync(context.RequestAborted) is { } picture)
            {
                var header = Encoding.ASCII.GetBytes(string.Create(CultureInfo.InvariantCulture, $"--{Boundary}\r\nContent-Type: image/jpeg\r\nContent-Length: {picture.Length}\r\n\r\n"));
                response.BodyWriter.Write(header);
                response.BodyWriter.Write(picture);
                response.BodyWriter.Write("\r\n"u8);
                await response.BodyWriter.FlushAsync(context.RequestAborted);
                viewer.CountSent(header.Length + picture.Length + 2);
            }
        }
        catch (Exception e) when (e is OperationCanceledException or System.IO.IOException or Microsoft.AspNetCore.Connections.ConnectionResetException)
        {
            // The viewer went away.
        }
    }

    private static bool TryReadInt(IQueryCollection query, string name, int min, int max, out int? value, out string problem)
    {
        value = null;
        problem = string.Empty;
        if (!query.TryGetValue(name, out StringValues text))
        {
            return true;
        }

        if (int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var parsed) && parsed >= min && parsed <= max)
        {
            value = parsed;
            return true;
        }

        problem = $"{name} '{text}' must be a whole number from {min} to {max}";
        return false;
    }
}
