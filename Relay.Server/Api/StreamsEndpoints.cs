using System.Net;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Net.Http.Headers;
using Relay.Api;
using Relay.Configuration;
using Relay.Server.Auth;
using Relay.Server.Configuration;
using Relay.Server.Hosting;

namespace Relay.Server.Api;

/// <summary>
/// The streams API: <c>GET /api/v1/streams</c> and <c>/api/v1/streams/{name}</c> (status and settings), and the
/// writes: <c>POST /api/v1/streams</c> (create), <c>PUT</c> (create or replace), <c>PATCH</c> (change some settings),
/// <c>DELETE</c>. Every change is validated as a whole (every problem reported, keyed by setting), guarded by
/// <c>ETag</c>/<c>If-Match</c>, kept in the state file and applied at once like a configuration reload.
/// <c>GET /api/v1/server</c> gives the version and RTSP port, for pages that show RTSP URLs.
/// </summary>
internal static partial class StreamsEndpoints
{
    /// <summary>The largest request body accepted; a stream's settings take well under 2 KiB.</summary>
    public const int MaxBodyBytes = 64 * 1024;

    private const long DrainLimit = 4 * 1024 * 1024;

    private const string JsonType = "application/json";
    private const string MergePatchType = "application/merge-patch+json";

    /// <summary>Declares the problems every write can answer with besides its own: 403, 413, 415, 500.</summary>
    internal static RouteHandlerBuilder WriteProblems(this RouteHandlerBuilder builder) =>
        builder.ProducesProblem(StatusCodes.Status403Forbidden).ProducesProblem(StatusCodes.Status413PayloadTooLarge)
            .ProducesProblem(StatusCodes.Status415UnsupportedMediaType).ProducesProblem(StatusCodes.Status500InternalServerError);

    public static IEndpointRouteBuilder MapStreamsApi(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/v1/streams").WithTags("Streams").RequireAuthorization(Policies.Read);
        group.MapGet("/", (HttpContext context, StatusView view) => TypedResults.Ok<IReadOnlyList<StreamStatus>>(view.Streams().Where(s => Policies.CanRead(context, s.Name)).ToArray()))
            .WithName("ListStreams").WithSummary("Every stream: state, source (no credentials), settings, tracks and readers.");
        group.MapGet("/{**name}", (string name, HttpContext context, StreamRegistry registry, StatusView view) =>
            view.Stream(name) is { } status && Policies.CanRead(context, status.Name) ? Found(context, registry, status, StatusCodes.Status200OK) : NotFound(name))
            .WithName("GetStream").WithSummary("One stream, with its ETag.")
            .Produces<StreamStatus>().ProducesProblem(StatusCodes.Status404NotFound);

        var writes = app.MapGroup("/api/v1/streams").WithTags("Streams").RequireAuthorization(Policies.Write).AddEndpointFilter(WriteAccess.FilterAsync);
        writes.MapPost("/", CreateAsync)
            .WithName("CreateStream").WithSummary("Makes a stream; it starts at once.")
            .WithMetadata(new JsonBody(typeof(StreamRequest), JsonType)).Produces<StreamStatus>(StatusCodes.Status201Created)
            .ProducesValidationProblem().ProducesProblem(StatusCodes.Status409Conflict).WriteProblems();
        writes.MapPut("/{**name}", ReplaceAsync)
            .WithName("ReplaceStream").WithSummary("Makes or replaces a stream: settings not given are the defaults. Honours If-Match and If-None-Match: *.")
            .WithMetadata(new JsonBody(typeof(StreamRequest), JsonType)).Produces<StreamStatus>().Produces<StreamStatus>(StatusCodes.Status201Created)
            .ProducesValidationProblem().ProducesProblem(StatusCodes.Status409Conflict).ProducesProblem(StatusCodes.Status412PreconditionFailed).WriteProblems();
        writes.MapPatch("/{**name}", ChangeAsync)
            .WithName("ChangeStream").WithSummary("Changes the settings given (null: back to the default). Honours If-Match.")
            .WithMetadata(new JsonBody(typeof(StreamRequest), JsonType, MergePatchType)).Produces<StreamStatus>()
            .ProducesValidationProblem().ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status412PreconditionFailed).WriteProblems();
        writes.MapDelete("/{**name}", DeleteAsync)
            .WithName("DeleteStream").WithSummary("Deletes a stream: its readers are closed and the camera connection ends. Honours If-Match.")
            .Produces(StatusCodes.Status204NoContent).ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status412PreconditionFailed)
            .ProducesProblem(StatusCodes.Status403Forbidden).ProducesProblem(StatusCodes.Status500InternalServerError);
        app.MapChannelsApi();
        app.MapGet("/api/v1/server", (StatusView view) => TypedResults.Ok(view.Server()))
            .RequireAuthorization(Policies.Read).WithTags("Server").WithName("GetServer").WithSummary("Relay's and GStreamer's versions and the RTSP port.");
        return app;
    }

    private static async Task<IResult> CreateAsync(HttpContext context, StreamRegistry registry, StatusView view)
    {
        var (body, refused) = await ReadBodyAsync(context, patch: false);
        if (refused is not null)
        {
            return refused;
        }

        using (body)
        {
            var problems = new Dictionary<string, List<string>>(StringComparer.OrdinalIgnoreCase);
            var name = body!.RootElement.TryGetProperty("name", out var n) && n.ValueKind == JsonValueKind.String ? n.GetString()!.Trim('/') : null;
            if (name is null)
            {
                problems["name"] = ["is required: the stream's path, for example \"cam1\" or \"site/door\""];
            }

            var settings = StreamSettings.Read(body.RootElement, problems, "name");
            return await SaveAsync(context, registry, view, name ?? string.Empty, settings, problems, (current, _) => current is null ? null : Conflict(name!));
        }
    }

    private static async Task<IResult> ReplaceAsync(string name, HttpContext context, StreamRegistry registry, StatusView view)
    {
        name = name.Trim('/');
        var (body, refused) = await ReadBodyAsync(context, patch: false);
        if (refused is not null)
        {
            return refused;
        }

        using (body)
        {
            var problems = new Dictionary<string, List<string>>(StringComparer.OrdinalIgnoreCase);
            if (body!.RootElement.TryGetProperty("name", out var given) && !string.Equals(given.ToString().Trim('/'), name, StringComparison.OrdinalIgnoreCase))
            {
                problems["name"] = [$"'{given}' differs from the stream in the URL ('{name}'); rename by creating the new name and deleting the old"];
            }

            var settings = StreamSettings.Read(body.RootElement, problems, "name");
            return await SaveAsync(context, registry, view, name, settings, problems, (current, etag) => Precondition(context, current is null ? null : etag));
        }
    }

    private static async Task<IResult> ChangeAsync(string name, HttpContext context, StreamRegistry registry, StatusView view)
    {
        name = name.Trim('/');
        if (registry.ConfigOf(name) is null)
        {
            return NotFound(name);
        }

        var (body, refused) = await ReadBodyAsync(context, patch: true);
        if (refused is not null)
        {
            return refused;
        }

        using (body)
        {
            var problems = new Dictionary<string, List<string>>(StringComparer.OrdinalIgnoreCase);
            if (body!.RootElement.TryGetProperty("name", out var given) && !string.Equals(given.ToString().Trim('/'), name, StringComparison.OrdinalIgnoreCase))
            {
                problems["name"] = ["a stream cannot be renamed; create the new name and delete the old"];
            }

            var patch = StreamSettings.Read(body.RootElement, problems, "name");
            return await SaveAsync(context, registry, view, name, patch, problems, (current, etag) => current is null ? NotFound(name) : Precondition(context, etag), merge: true);
        }
    }

    private static async Task<IResult> DeleteAsync(string name, HttpContext context, StreamRegistry registry)
    {
        name = name.Trim('/');
        IResult? refusal = null;
        var deleted = await EditAsync(registry, name, current =>
        {
            refusal = current is null ? NotFound(name) : Precondition(context, registry.ETag(current));
            return refusal is null ? Edit<StreamConfig>.Delete : Edit<StreamConfig>.None;
        });
        return deleted.Failed ?? refusal ?? Results.NoContent();
    }

    /// <summary>
    /// Validates and saves a stream's settings. <paramref name="check"/> refuses the request given the stream as it is
    /// (null: none) and its ETag; with <paramref name="merge"/> the settings change the current ones (PATCH; a null
    /// value goes back to the default), else they are all of them (a missing one is the default).
    /// </summary>
    private static async Task<IResult> SaveAsync(
        HttpContext context,
        StreamRegistry registry,
        StatusView view,
        string name,
        Dictionary<string, string?> settings,
        Dictionary<string, List<string>> problems,
        Func<StreamConfig?, string?, IResult?> check,
        bool merge = false)
    {
        IResult? refusal = null;
        var created = false;
        var saved = await EditAsync(registry, name, current =>
        {
            refusal = current is null && registry.FindChannel(name) is not null
                ? NameTaken($"A channel is named '{name}'; a stream needs a name of its own.")
                : check(current, current is null ? null : registry.ETag(current));
            if (refusal is not null)
            {
                return Edit<StreamConfig>.None;
            }

            var wanted = merge && current is not null
                ? StreamSettings.From(current, redact: false)
                : new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
            foreach (var (key, value) in settings)
            {
                if (value is null)
                {
                    wanted.Remove(key);
                }
                else if (key == "Source" && current is not null && value == Sources.SourceUri.Redact(current.Source))
                {
                    wanted[key] = current.Source.OriginalString; // the redacted source sent back as read: keep its credentials
                }
                else if (key.StartsWith("Push:", StringComparison.OrdinalIgnoreCase) && key.EndsWith(":Url", StringComparison.OrdinalIgnoreCase)
                    && current?.Push.FirstOrDefault(t => string.Equals($"Push:{t.Name}:Url", key, StringComparison.OrdinalIgnoreCase)) is { } target
                    && value == Sources.SourceUri.Redact(new Uri(target.Url)))
                {
                    wanted[key] = target.Url; // likewise for a push URL: keep its stream key and credentials
                }
                else
                {
                    wanted[key] = value;
                }
            }

            var (config, invalid) = name.Length > 0 ? StreamSettings.Validate(current?.Name ?? name, wanted) : (null, []);
            foreach (var (key, message) in invalid.SelectMany(p => p.Value.Select(m => (p.Key, m))))
            {
                StreamSettings.Add(problems, key, message);
            }

            if (problems.Count > 0 || config is null)
            {
                refusal = Invalid(problems);
                return Edit<StreamConfig>.None;
            }

            created = current is null;
            return Edit<StreamConfig>.Save(config);
        });
        if ((saved.Failed ?? refusal) is { } failed)
        {
            return failed;
        }

        var status = view.Stream(name)!;
        return Found(context, registry, status, created ? StatusCodes.Status201Created : StatusCodes.Status200OK);
    }

    private static async Task<(bool Done, IResult? Failed)> EditAsync(StreamRegistry registry, string name, Func<StreamConfig?, Edit<StreamConfig>> plan)
    {
        try
        {
            return (await registry.EditStreamAsync(name, plan), null);
        }
        catch (IOException e)
        {
            return (false, SaveFailed(e));
        }
    }

    private static IResult Found(HttpContext context, StreamRegistry registry, StreamStatus status, int statusCode)
    {
        if (registry.ConfigOf(status.Name) is { } config)
        {
            context.Response.Headers.ETag = registry.ETag(config);
        }

        return statusCode == StatusCodes.Status201Created
            ? TypedResults.Created($"/api/v1/streams/{status.Name}", status)
            : TypedResults.Ok(status);
    }

    /// <summary>Honours <c>If-Match</c> (and <c>If-None-Match: *</c>, create only) against the stream's ETag (null: no stream).</summary>
    internal static IResult? Precondition(HttpContext context, string? etag)
    {
        var headers = context.Request.GetTypedHeaders();
        if (headers.IfMatch is { Count: > 0 } ifMatch
            && (etag is null || !ifMatch.Any(t => t.Tag == "*" || (!t.IsWeak && t.Tag == etag))))
        {
            return Results.Problem(statusCode: StatusCodes.Status412PreconditionFailed, title: "The stream changed", detail: etag is null
                ? "If-Match was given but the stream does not exist."
                : "The stream was changed since you read it (its ETag differs from If-Match). Read it again and reapply your change.");
        }

        if (headers.IfNoneMatch is { Count: > 0 } ifNoneMatch && etag is not null && ifNoneMatch.Any(t => t.Tag == "*" || t.Tag == etag))
        {
            return Results.Problem(statusCode: StatusCodes.Status412PreconditionFailed, title: "The stream exists", detail: "If-None-Match: * was given and the stream already exists.");
        }

        return null;
    }

    /// <summary>Reads a JSON object body: 415 for another media type, 413 past <see cref="MaxBodyBytes"/>, 400 for bad JSON.</summary>
    internal static async Task<(JsonDocument? Body, IResult? Refused)> ReadBodyAsync(HttpContext context, bool patch)
    {
        var request = context.Request;
        if (!MediaTypeHeaderValue.TryParse(request.ContentType, out var type)
            || !(type.MediaType.Equals("application/json", StringComparison.OrdinalIgnoreCase)
                || (patch && type.MediaType.Equals("application/merge-patch+json", StringComparison.OrdinalIgnoreCase))))
        {
            return (null, Results.Problem(
                statusCode: StatusCodes.Status415UnsupportedMediaType,
                title: "Unsupported media type",
                detail: $"Send the settings as application/json{(patch ? " or application/merge-patch+json" : string.Empty)} (got {(string.IsNullOrEmpty(request.ContentType) ? "no Content-Type" : request.ContentType)})."));
        }

        // A body over the limit is still read (up to DrainLimit, then refused at once): a client gets its 413 reliably
        // only when the server answers after the request, not in the middle of sending it.
        using var buffer = new MemoryStream();
        var chunk = new byte[8192];
        long total = 0;
        int read;
        while ((read = await request.Body.ReadAsync(chunk, context.RequestAborted)) > 0)
        {
            total += read;
            if (total > DrainLimit)
            {
                return (null, TooLarge());
            }

            if (total <= MaxBodyBytes)
            {
                buffer.Write(chunk, 0, read);
            }
        }

        if (total > MaxBodyBytes)
        {
            return (null, TooLarge());
        }

        try
        {
            var document = JsonDocument.Parse(buffer.ToArray(), new JsonDocumentOptions { MaxDepth = 8 });
            if (document.RootElement.ValueKind is var kind and not JsonValueKind.Object)
            {
                document.Dispose();
                return (null, Invalid(new() { ["body"] = [$"must be a JSON object, not {kind.ToString().ToLowerInvariant()}"] }));
            }

            return (document, null);
        }
        catch (JsonException e)
        {
            return (null, Invalid(new() { ["body"] = [$"is not valid JSON: {e.Message}"] }));
        }
    }

    internal static IResult Invalid(Dictionary<string, List<string>> problems, string title = "Invalid stream settings") =>
        TypedResults.ValidationProblem(
            problems.ToDictionary(p => p.Key, p => p.Value.ToArray()),
            detail: string.Join("; ", problems.SelectMany(p => p.Value.Select(m => $"{p.Key}: {m}"))),
            title: "Invalid stream settings");

    private static IResult TooLarge() =>
        Results.Problem(statusCode: StatusCodes.Status413PayloadTooLarge, title: "Body too large", detail: $"A request body takes at most {MaxBodyBytes / 1024} KiB.");

    private static IResult NotFound(string name) =>
        TypedResults.Problem(statusCode: StatusCodes.Status404NotFound, title: "Stream not found", detail: $"There is no stream named '{name}'.");

    /// <summary>A 409 for a name a stream or channel has already.</summary>
    internal static IResult NameTaken(string detail) =>
        Results.Problem(statusCode: StatusCodes.Status409Conflict, title: "The name is taken", detail: detail);

    /// <summary>A 500 for a change the state file could not keep (and that was therefore not made).</summary>
    internal static IResult SaveFailed(IOException e) =>
        Results.Problem(statusCode: StatusCodes.Status500InternalServerError, title: "The change could not be saved", detail: $"Writing the state file failed ({e.Message}); nothing was changed.");

    private static IResult Conflict(string name) =>
        Results.Problem(statusCode: StatusCodes.Status409Conflict, title: "The stream exists", detail: $"A stream named '{name}' exists; change it with PUT or PATCH /api/v1/streams/{name}.");
}

/// <summary>
/// Who may change the relay when no user or token is configured: clients on loopback, or anyone when
/// <c>Relay:Api:AllowRemoteWrites</c> is set. Others get 403 and a log line. With users or tokens, the <c>write</c>
/// scope decides instead (<see cref="Policies.Write"/>) and this filter lets every request through.
/// </summary>
internal static partial class WriteAccess
{
    public static async ValueTask<object?> FilterAsync(EndpointFilterInvocationContext invocation, EndpointFilterDelegate next)
    {
        var context = invocation.HttpContext;
        var allowRemote = context.RequestServices.GetRequiredService<RelayConfig>().Api.AllowRemoteWrites;
        if (context.RequestServices.GetRequiredService<AccessControl>().Enabled || IsAllowed(context.Connection.RemoteIpAddress, allowRemote))
        {
            return await next(invocation);
        }

        var logger = context.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger("Relay.Api");
        Log.Refused(logger, context.Request.Method, context.Request.Path, context.Connection.RemoteIpAddress?.ToString() ?? "unknown");
        return Results.Problem(
            statusCode: StatusCodes.Status403Forbidden,
            title: "Changes are accepted from the relay's own machine only",
            detail: "Send the request from the relay's host (loopback), or set Relay:Api:AllowRemoteWrites=true.");
    }

    /// <summary>Tells whether a client at <paramref name="address"/> may write.</summary>
    public static bool IsAllowed(IPAddress? address, bool allowRemote) =>
        allowRemote || (address is not null && IPAddress.IsLoopback(address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address));

    private static partial class Log
    {
        [LoggerMessage(EventIds.ApiWriteRefused, LogLevel.Warning, "Refused {Method} {Path} from {Address}: API writes are accepted from loopback only (Relay:Api:AllowRemoteWrites is not set).")]
        public static partial void Refused(ILogger logger, string method, string path, string address);
    }
}
