using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Relay.Api;
using Relay.Configuration;
using Relay.Server.Configuration;
using Relay.Server.Hosting;

namespace Relay.Server.Api;

/// <summary>
/// The channels API: <c>GET /api/v1/channels</c> and <c>/api/v1/channels/{name}</c>, <c>POST</c> (make:
/// <c>{"name": "wall1", "stream": "cam2"}</c>), <c>PUT</c>/<c>PATCH</c> (switch: <c>{"stream": "cam3"}</c>) and
/// <c>DELETE</c>, with the streams API's rules (every problem at once, ETag/If-Match, loopback-only writes, kept in
/// the state file). A switch keeps the channel's readers connected and reaches them before the answer.
/// </summary>
internal static class ChannelsEndpoints
{
    private static readonly string[] Settings = ["name", "stream"];

    public static IEndpointRouteBuilder MapChannelsApi(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/v1/channels").WithTags("Channels").RequireAuthorization(Auth.Policies.Read);
        group.MapGet("/", (StatusView view) => TypedResults.Ok(view.Channels()))
            .WithName("ListChannels").WithSummary("Every channel: the stream it shows, state, switches and readers.");
        group.MapGet("/{**name}", (string name, HttpContext context, StreamRegistry registry, StatusView view) =>
            view.Channel(name) is { } status ? Found(context, registry, status, created: false) : NotFound(name))
            .WithName("GetChannel").WithSummary("One channel, with its ETag.")
            .Produces<ChannelStatus>().ProducesProblem(StatusCodes.Status404NotFound);

        var writes = app.MapGroup("/api/v1/channels").WithTags("Channels").RequireAuthorization(Auth.Policies.Write).AddEndpointFilter(WriteAccess.FilterAsync);
        writes.MapPost("/", (HttpContext context, StreamRegistry registry, StatusView view) => SaveAsync(context, registry, view, route: null, patch: false))
            .WithName("CreateChannel").WithSummary("Makes a channel showing a stream.")
            .WithMetadata(new JsonBody(typeof(ChannelRequest), "application/json")).Produces<ChannelStatus>(StatusCodes.Status201Created)
            .ProducesValidationProblem().ProducesProblem(StatusCodes.Status409Conflict).WriteProblems();
        writes.MapPut("/{**name}", (string name, HttpContext context, StreamRegistry registry, StatusView view) => SaveAsync(context, registry, view, name.Trim('/'), patch: false))
            .WithName("SwitchChannel").WithSummary("Makes a channel or switches it to another stream; its readers stay connected. Honours If-Match.")
            .WithMetadata(new JsonBody(typeof(ChannelRequest), "application/json")).Produces<ChannelStatus>().Produces<ChannelStatus>(StatusCodes.Status201Created)
            .ProducesValidationProblem().ProducesProblem(StatusCodes.Status409Conflict).ProducesProblem(StatusCodes.Status412PreconditionFailed).WriteProblems();
        writes.MapPatch("/{**name}", (string name, HttpContext context, StreamRegistry registry, StatusView view) => SaveAsync(context, registry, view, name.Trim('/'), patch: true))
            .WithName("ChangeChannel").WithSummary("Switches an existing channel to another stream. Honours If-Match.")
            .WithMetadata(new JsonBody(typeof(ChannelRequest), "application/json", "application/merge-patch+json")).Produces<ChannelStatus>()
            .ProducesValidationProblem().ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status412PreconditionFailed).WriteProblems();
        writes.MapDelete("/{**name}", DeleteAsync)
            .WithName("DeleteChannel").WithSummary("Deletes a channel: its readers are closed. Honours If-Match.")
            .Produces(StatusCodes.Status204NoContent).ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status412PreconditionFailed)
            .ProducesProblem(StatusCodes.Status403Forbidden).ProducesProblem(StatusCodes.Status500InternalServerError);
        return app;
    }

    /// <summary>POST (no <paramref name="route"/>: the name is in the body), PUT (make or switch) and PATCH (switch).</summary>
    private static async Task<IResult> SaveAsync(HttpContext context, StreamRegistry registry, StatusView view, string? route, bool patch)
    {
        if (patch && registry.FindChannel(route!) is null)
        {
            return NotFound(route!);
        }

        var (body, refused) = await StreamsEndpoints.ReadBodyAsync(context, patch);
        if (refused is not null)
        {
            return refused;
        }

        using (body)
        {
            var root = body!.RootElement;
            var problems = new Dictionary<string, List<string>>(StringComparer.OrdinalIgnoreCase);
            foreach (var property in root.EnumerateObject().Where(p => !Settings.Contains(p.Name, StringComparer.OrdinalIgnoreCase)))
            {
                StreamSettings.Add(problems, property.Name, $"unknown setting (known: {string.Join(", ", Settings)})");
            }

            var name = Text(root, "name", problems)?.Trim('/');
            if (route is null && name is null)
            {
                StreamSettings.Add(problems, "name", "is required: the channel's path, for example \"wall1\"");
            }
            else if (route is not null && name is not null && !string.Equals(name, route, StringComparison.OrdinalIgnoreCase))
            {
                StreamSettings.Add(problems, "name", $"'{name}' differs from the channel in the URL ('{route}'); a channel cannot be renamed");
            }

            name = route ?? name ?? string.Empty;
            var stream = Text(root, "stream", problems)?.Trim('/');
            if (stream is null && !problems.ContainsKey("stream"))
            {
                StreamSettings.Add(problems, "stream", "is required: the name of the stream the channel shows");
            }
            else if (stream is not null && registry.ConfigOf(stream) is null)
            {
                StreamSettings.Add(problems, "stream", registry.FindChannel(stream) is null ? $"there is no stream named '{stream}'" : $"'{stream}' is a channel; a channel shows a stream");
            }

            if (name.Length > 0 && registry.ConfigOf(name) is not null)
            {
                return StreamsEndpoints.NameTaken($"A stream is named '{name}'; a channel needs a name of its own.");
            }

            if (name.Length > 0 && !Configuration.RelayConfigLoader.IsValidName(name))
            {
                StreamSettings.Add(problems, "name", $"'{name}' is not a valid path (letters, digits, '-', '_', '.', '~' and '/' between segments, at most 200 characters)");
            }

            if (problems.Count > 0)
            {
                return StreamsEndpoints.Invalid(problems, "Invalid channel");
            }

            IResult? refusal = null;
            var created = false;
            var config = new ChannelConfig { Name = name, Stream = stream! };
            try
            {
                await registry.EditChannelAsync(name, current =>
                {
                    refusal = route is null && current is not null
                        ? StreamsEndpoints.NameTaken($"A channel named '{name}' exists; switch it with PUT or PATCH /api/v1/channels/{name}.")
                        : patch && current is null ? NotFound(name)
                        : StreamsEndpoints.Precondition(context, current is null ? null : registry.ETag(current));
                    if (refusal is not null)
                    {
                        return Edit<ChannelConfig>.None;
                    }

                    created = current is null;
                    return Edit<ChannelConfig>.Save(current is null ? config : config with { Name = current.Name });
                });
            }
            catch (IOException e)
            {
                return StreamsEndpoints.SaveFailed(e);
            }

            return refusal ?? Found(context, registry, view.Channel(name)!, created);
        }
    }

    private static async Task<IResult> DeleteAsync(string name, HttpContext context, StreamRegistry registry)
    {
        name = name.Trim('/');
        IResult? refusal = null;
        try
        {
            await registry.EditChannelAsync(name, current =>
            {
                refusal = current is null ? NotFound(name) : StreamsEndpoints.Precondition(context, registry.ETag(current));
                return refusal is null ? Edit<ChannelConfig>.Delete : Edit<ChannelConfig>.None;
            });
        }
        catch (IOException e)
        {
            return StreamsEndpoints.SaveFailed(e);
        }

        return refusal ?? Results.NoContent();
    }

    private static string? Text(JsonElement root, string key, Dictionary<string, List<string>> problems)
    {
        foreach (var property in root.EnumerateObject())
        {
            if (string.Equals(property.Name, key, StringComparison.OrdinalIgnoreCase))
            {
                if (property.Value.ValueKind == JsonValueKind.String && property.Value.GetString() is { Length: > 0 } text)
                {
                    return text;
                }

                StreamSettings.Add(problems, key, $"must be a non-empty string, not {property.Value.ValueKind.ToString().ToLowerInvariant()}");
                return null;
            }
        }

        return null;
    }

    private static IResult Found(HttpContext context, StreamRegistry registry, ChannelStatus status, bool created)
    {
        if (registry.FindChannel(status.Name)?.Config is { } config)
        {
            context.Response.Headers.ETag = registry.ETag(config);
        }

        return created ? TypedResults.Created($"/api/v1/channels/{status.Name}", status) : TypedResults.Ok(status);
    }

    private static IResult NotFound(string name) =>
        TypedResults.Problem(statusCode: StatusCodes.Status404NotFound, title: "Channel not found", detail: $"There is no channel named '{name}'.");

}
