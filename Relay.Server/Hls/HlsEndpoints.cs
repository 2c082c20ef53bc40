using System.Globalization;
using System.Text;
using Microsoft.AspNetCore.Http;
using Relay.Server.Streams;

namespace Relay.Server.Hls;

/// <summary>
/// HTTP answers for one stream's HLS resources under <c>/streams/{name}/</c>: <c>index.m3u8</c> (multivariant, starts
/// the muxer), <c>stream.m3u8</c> (the low-latency media playlist, with blocking reload), initialization segments,
/// segments and parts.
/// </summary>
internal static class HlsEndpoints
{
    /// <summary>The multivariant playlist's name, the URL players are given.</summary>
    public const string Index = "index.m3u8";

    private const string PlaylistType = "application/vnd.apple.mpegurl";
    private const string Fmp4Type = "video/mp4";
    private static readonly TimeSpan FirstPartTimeout = TimeSpan.FromSeconds(8);

    /// <summary>Tells whether <paramref name="file"/> names an HLS resource.</summary>
    public static bool Handles(string file) =>
        file is Index or HlsPlaylist.MediaPlaylist || file.EndsWith(".m4s", StringComparison.Ordinal) || file.EndsWith(".mp4", StringComparison.Ordinal);

    /// <summary>Answers a request for <paramref name="file"/> of <paramref name="stream"/>.</summary>
    public static async Task<IResult> HandleAsync(HttpContext context, HlsServer server, StreamHub stream, string file)
    {
        var aborted = context.RequestAborted;
        if (file is Index or HlsPlaylist.MediaPlaylist)
        {
            HlsMuxer muxer;
            try
            {
                muxer = server.GetOrStart(stream);
            }
            catch (OperationCanceledException)
            {
                return Results.Problem(statusCode: StatusCodes.Status503ServiceUnavailable, title: "Shutting down", detail: "The relay is shutting down.");
            }

            // A first media playlist load (no delivery directives) waits for the hold-back history standard players
            // need, unless the player asks to start at once (start=now: hls.js in low-latency mode, the watch page).
            var history = file == HlsPlaylist.MediaPlaylist && !context.Request.Query.ContainsKey("_HLS_msn")
                && !string.Equals(context.Request.Query["start"], "now", StringComparison.Ordinal);
            if (!await muxer.WaitForContentAsync(FirstPartTimeout, history, aborted))
            {
                context.Response.Headers.RetryAfter = "2";
                return Results.Problem(
                    statusCode: StatusCodes.Status503ServiceUnavailable,
                    title: "No media yet",
                    detail: $"Stream '{stream.Name}' has not delivered a keyframe yet; try again shortly.");
            }

            if (file == Index)
            {
                return Playlist(context, muxer, muxer.GetMultivariantPlaylist() is { } text ? Encoding.UTF8.GetBytes(text) : null);
            }

            if (!TryReadDirectives(context.Request.Query, out var msn, out var part, out var problem))
            {
                return BadRequest(problem);
            }

            var (playlist, bad) = await muxer.GetMediaPlaylistAsync(msn, part, aborted);
            return bad is not null ? BadRequest(bad) : Playlist(context, muxer, playlist);
        }

        var running = server.Find(stream);
        if (running is null || running.Names.Parse(file) is not { } resource)
        {
            return NotFound(stream, file);
        }

        running.Touch();
        ReadOnlyMemory<byte>[]? body = resource.Kind switch
        {
            HlsResourceKind.Init => running.GetInit((int)resource.Number) is { } init ? [init] : null,
            HlsResourceKind.Segment => await running.GetSegmentAsync(resource.Number, aborted),
            _ => await running.GetPartAsync(resource.Number, resource.Index, aborted) is { } data ? [data] : null,
        };
        if (body is null)
        {
            return NotFound(stream, file);
        }

        running.Touch();
        running.CountSent(context.Connection.RemoteIpAddress, body.Sum(b => (long)b.Length));
        return new ChunksResult(Fmp4Type, "public, max-age=60", body);
    }

    private static IResult Playlist(HttpContext context, HlsMuxer muxer, byte[]? bytes)
    {
        if (bytes is null)
        {
            return Results.Problem(statusCode: StatusCodes.Status503ServiceUnavailable, title: "No media yet", detail: "The stream has no playlist yet.");
        }

        muxer.Touch(); // the idle time counts from the last answer (a first request may wait for the camera)
        muxer.CountSent(context.Connection.RemoteIpAddress, bytes.Length);
        return new ChunksResult(PlaylistType, "no-cache", [bytes]);
    }

    private static bool TryReadDirectives(IQueryCollection query, out long? msn, out int? part, out string problem)
    {
        msn = null;
        part = null;
        problem = string.Empty;
        if (query.TryGetValue("_HLS_msn", out var msnText))
        {
            if (!long.TryParse(msnText, NumberStyles.None, CultureInfo.InvariantCulture, out var value))
            {
                problem = $"_HLS_msn '{msnText}' is not a media sequence number";
                return false;
            }

            msn = value;
        }

        if (query.TryGetValue("_HLS_part", out var partText))
        {
            if (!int.TryParse(partText, NumberStyles.None, CultureInfo.InvariantCulture, out var value))
            {
                problem = $"_HLS_part '{partText}' is not a part index";
                return false;
            }

            part = value;
        }

        return true;
    }

    private static IResult BadRequest(string detail) =>
        Results.Problem(statusCode: StatusCodes.Status400BadRequest, title: "Bad playlist request", detail: detail);

    private static IResult NotFound(StreamHub stream, string file) =>
        Results.Problem(statusCode: StatusCodes.Status404NotFound, title: "Not found", detail: $"Stream '{stream.Name}' has no HLS resource '{file}' (it may have expired).");

    /// <summary>A body made of byte chunks that already exist (a segment is its parts), written without copying.</summary>
    private sealed class ChunksResult(string contentType, string cacheControl, ReadOnlyMemory<byte>[] chunks) : IResult
    {
        public async Task ExecuteAsync(HttpContext httpContext)
        {
            var response = httpContext.Response;
            response.ContentType = contentType;
            response.Headers.CacheControl = cacheControl;
            response.ContentLength = chunks.Sum(c => (long)c.Length);
            foreach (var chunk in chunks)
            {
                await response.BodyWriter.WriteAsync(chunk, httpContext.RequestAborted);
            }
        }
    }
}
