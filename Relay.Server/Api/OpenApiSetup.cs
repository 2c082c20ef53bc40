using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.OpenApi;

namespace Relay.Server.Api;

/// <summary>
/// The OpenAPI document at <c>/openapi/v1.json</c>, generated from the endpoints (their types and declared results),
/// with an example for every request and response body.
/// </summary>
internal static class OpenApiSetup
{
    public const string DocumentPath = "/openapi/{documentName}.json";

    private const string StatusExample = """
        {"name":"door","state":"Online","since":"2026-12-02T08:00:00+00:00","source":"rtsp://***@10.0.0.7/stream1","origin":"api",
         "settings":{"source":"rtsp://***@10.0.0.7/stream1","transport":"tcp","startAt":"keyframe","onDemand":"false","idleTimeout":"10s",
           "connectTimeout":"10s","stallTimeout":"5s","retryDelay":"500ms","maxRetryDelay":"30s","gopCacheMaxBytes":"16777216",
           "gopCacheMaxDuration":"10s","readerQueueMaxBytes":"8388608","readerQueueMaxFrames":"1024","readerStallTimeout":"10s"},
         "onDemand":false,"online":true,"ready":true,"epochs":1,"reconnects":0,"lastFrameAgeSeconds":0.02,"inboundBytes":1250000,"inboundFrames":1500,
         "tracks":[{"index":0,"kind":"Video","codec":"h264","clockRate":90000,"width":1280,"height":720,"frameRate":25,"bitrateBitsPerSecond":2000000}],
         "readers":[{"protocol":"rtsp/tcp","remoteAddress":"10.0.0.20","since":"2026-12-02T08:01:00+00:00","bytesSent":900000,"skippedFrames":0,"session":"2C6A4E9656A04C76"}]}
        """;

    private const string ChannelExample = """
        {"name":"wall1","stream":"door","origin":"api","streamExists":true,"online":true,"switches":3,"lastSwitch":"2026-12-02T08:05:00+00:00",
         "tracks":[{"index":0,"kind":"Video","codec":"h264","clockRate":90000,"width":1280,"height":720,"frameRate":25}],
         "readers":[{"protocol":"rtsp/udp","remoteAddress":"10.0.0.21","since":"2026-12-02T08:02:00+00:00","bytesSent":450000,"skippedFrames":0,"session":"5D768B222C774568"}]}
        """;

    private static readonly Dictionary<string, string> RequestExamples = new(StringComparer.Ordinal)
    {
        ["CreateStream"] = """{"name":"door","source":"rtsp://user:password@10.0.0.7/stream1","onDemand":true,"idleTimeout":"30s"}""",
        ["ReplaceStream"] = """{"source":"rtsp://user:password@10.0.0.7/stream1","transport":"udp"}""",
        ["ChangeStream"] = """{"transport":"udp","latency":null}""",
        ["CreateChannel"] = """{"name":"wall1","stream":"door"}""",
        ["SwitchChannel"] = """{"stream":"gate"}""",
        ["ChangeChannel"] = """{"stream":"gate"}""",
    };

    public static IServiceCollection AddRelayOpenApi(this IServiceCollection services) =>
        services.AddOpenApi("v1", options =>
        {
            options.AddDocumentTransformer((document, _, _) =>
            {
                document.Info = new OpenApiInfo
                {
                    Title = "Relay",
                    Version = Hosting.RelayApp.Version,
                    Description = "Status and management of a Relay RTSP relay: streams (cameras pulled once and re-served), channels "
                        + "(switchable outputs), and the browser outputs. Writes are accepted from loopback only unless "
                        + "Relay:Api:AllowRemoteWrites is set. Errors are RFC 9457 problem details.",
                };
                return Task.CompletedTask;
            });
            options.AddOperationTransformer(async (operation, context, cancellationToken) =>
            {
                if (context.Description.ActionDescriptor.EndpointMetadata.OfType<JsonBody>().FirstOrDefault() is { } body)
                {
                    var schema = await context.GetOrCreateSchemaAsync(body.Type, null, cancellationToken);
                    operation.RequestBody = new OpenApiRequestBody
                    {
                        Required = true,
                        Content = body.ContentTypes.ToDictionary(t => t, _ => new OpenApiMediaType { Schema = schema }),
                    };
                }

                AddExamples(operation, operation.OperationId ?? string.Empty);
            });
        });

    public static IEndpointRouteBuilder MapRelayOpenApi(this IEndpointRouteBuilder app)
    {
        app.MapOpenApi(DocumentPath);
        return app;
    }

    private static void AddExamples(OpenApiOperation operation, string id)
    {
        if (RequestExamples.TryGetValue(id, out var request) && operation.RequestBody?.Content is { } requestContent)
        {
            foreach (var media in requestContent.Values)
            {
                media.Example = JsonNode.Parse(request);
            }
        }

        foreach (var (code, response) in operation.Responses ?? [])
        {
            foreach (var (type, media) in response.Content ?? new Dictionary<string, OpenApiMediaType>())
            {
                media.Example = Example(id, code, type);
            }
        }
    }

    private static JsonNode? Example(string id, string code, string type)
    {
        if (type == "application/problem+json")
        {
            return code == "400" && id != "Output"
                ? JsonNode.Parse("""
                    {"type":"https://tools.ietf.org/html/rfc9110#section-15.5.1","title":"Invalid stream settings","status":400,
                     "detail":"transport: 'pigeon' must be one of tcp, udp; idleTimeout: 'soon' must be a duration such as 500ms, 5s, 2m or 00:00:05, above zero",
                     "errors":{"transport":["'pigeon' must be one of tcp, udp"],"idleTimeout":["'soon' must be a duration such as 500ms, 5s, 2m or 00:00:05, above zero"]}}
                    """)
                : new JsonObject
                {
                    ["type"] = $"https://tools.ietf.org/html/rfc9110#section-15.{(code[0] == '5' ? 6 : 5)}.{int.Parse(code[1..], System.Globalization.CultureInfo.InvariantCulture) + 1}",
                    ["title"] = Title(code),
                    ["status"] = int.Parse(code, System.Globalization.CultureInfo.InvariantCulture),
                    ["detail"] = Detail(code),
                };
        }

        if (type == "text/plain")
        {
            return JsonValue.Create(code == "200" ? (id == "Liveness" ? "ok\n" : "ready\n") : "not ready: RTSP listener not bound\n");
        }

        return id switch
        {
            "ListStreams" => JsonNode.Parse($"[{StatusExample}]"),
            "GetStream" or "CreateStream" or "ReplaceStream" or "ChangeStream" => JsonNode.Parse(StatusExample),
            "ListChannels" => JsonNode.Parse($"[{ChannelExample}]"),
            "GetChannel" or "CreateChannel" or "SwitchChannel" or "ChangeChannel" => JsonNode.Parse(ChannelExample),
            "GetServer" => JsonNode.Parse("""{"version":"1.0.0","gStreamer":"GStreamer 1.22.0","rtspPort":8554}"""),
            "Output" when type == "application/vnd.apple.mpegurl" => JsonValue.Create(
                "#EXTM3U\n#EXT-X-VERSION:9\n#EXT-X-TARGETDURATION:1\n#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=0.66\n"
                + "#EXT-X-PART-INF:PART-TARGET=0.22\n#EXT-X-MEDIA-SEQUENCE:12\n#EXT-X-MAP:URI=\"1e7910-init1.mp4\"\n…\n"),
            "Output" => null, // pictures and video: binary
            _ => null,
        };
    }

    private static string Title(string code) => code switch
    {
        "403" => "Changes are accepted from the relay's own machine only",
        "404" => "Stream not found",
        "409" => "The name is taken",
        "412" => "The stream changed",
        "413" => "Body too large",
        "415" => "Unsupported media type",
        "503" => "No media yet",
        _ => "The change could not be saved",
    };

    private static string Detail(string code) => code switch
    {
        "403" => "Send the request from the relay's host (loopback), or set Relay:Api:AllowRemoteWrites=true.",
        "404" => "There is no stream named 'door'.",
        "409" => "A stream named 'door' exists; change it with PUT or PATCH /api/v1/streams/door.",
        "412" => "The stream was changed since you read it (its ETag differs from If-Match). Read it again and reapply your change.",
        "413" => "A request body takes at most 64 KiB.",
        "415" => "Send the settings as application/json (got text/plain).",
        "503" => "The stream has no playlist yet.",
        _ => "Writing the state file failed (No space left on device); nothing was changed.",
    };
}

/// <summary>
/// Documents an endpoint's JSON request body, which the endpoint reads itself (to answer a wrong media type, a body
/// too large or bad JSON with its own problem details, which the framework's body binding would not).
/// </summary>
/// <param name="Type">The body's type, for its schema.</param>
/// <param name="ContentTypes">The media types accepted.</param>
internal sealed record JsonBody(Type Type, params string[] ContentTypes);
