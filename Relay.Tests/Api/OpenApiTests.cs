using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Relay.Tests.Fixtures;
using Xunit.Abstractions;

namespace Relay.Tests.Api;

/// <summary>The OpenAPI document: generated from the endpoints, checked by a validator that is not ours.</summary>
public sealed class OpenApiTests(ITestOutputHelper output) : InteropTestBase(output)
{
    private static readonly string[] BinaryTypes = ["video/mp4", "image/jpeg", "multipart/x-mixed-replace"];

    [Fact]
    public async Task The_document_passes_swagger_parser_lists_every_endpoint_and_has_an_example_for_every_body()
    {
        await using var relay = await RelayHost.StartAsync(new Dictionary<string, string?>(), Logs);
        using var http = new HttpClient { BaseAddress = relay.HttpBase };
        var text = await http.GetStringAsync("/openapi/v1.json");
        var file = Path.Combine(Path.GetTempPath(), $"relay-openapi-{Guid.NewGuid():N}.json");
        await File.WriteAllTextAsync(file, text);
        ProcessResult validation;
        try
        {
            validation = await ExternalProcess.RunAsync("node", ["-e", Validator, file, Repository.Tool("openapi", "node_modules", "@apidevtools", "swagger-parser")], TimeSpan.FromSeconds(60));
        }
        finally
        {
            File.Delete(file);
        }

        using var document = JsonDocument.Parse(text);
        var listed = document.RootElement.GetProperty("paths").EnumerateObject()
            .SelectMany(p => p.Value.EnumerateObject().Select(m => $"{m.Name.ToUpperInvariant()} {p.Name}"))
            .ToHashSet(StringComparer.Ordinal);
        var endpoints = relay.App.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>()
            .Where(e => e.Metadata.GetMetadata<IExcludeFromDescriptionMetadata>() is not { ExcludeFromDescription: true })
            .Where(e => e.Metadata.GetMetadata<IHttpMethodMetadata>() is not null && !e.RoutePattern.RawText!.StartsWith("/openapi", StringComparison.Ordinal))
            .SelectMany(e => e.Metadata.GetMetadata<IHttpMethodMetadata>()!.HttpMethods.Select(m => $"{m} {Normalize(e.RoutePattern.RawText!)}"))
            .ToList();
        var withoutExample = new List<string>();
        foreach (var path in document.RootElement.GetProperty("paths").EnumerateObject())
        {
            foreach (var operation in path.Value.EnumerateObject())
            {
                var bodies = new List<(string Where, JsonProperty Media)>();
                if (operation.Value.TryGetProperty("requestBody", out var request))
                {
                    bodies.AddRange(request.GetProperty("content").EnumerateObject().Select(m => ("request", m)));
                }

                foreach (var response in operation.Value.GetProperty("responses").EnumerateObject())
                {
                    if (response.Value.TryGetProperty("content", out var content))
                    {
                        bodies.AddRange(content.EnumerateObject().Select(m => (response.Name, m)));
                    }
                }

                withoutExample.AddRange(bodies.Where(b => !BinaryTypes.Contains(b.Media.Name) && !b.Media.Value.TryGetProperty("example", out _))
                    .Select(b => $"{operation.Name} {path.Name} {b.Where} {b.Media.Name}"));
            }
        }

        Assert.True(validation.ExitCode == 0, validation.Stdout + validation.Stderr);
        Assert.StartsWith("valid", validation.Stdout, StringComparison.Ordinal);
        Assert.DoesNotContain(endpoints, e => !listed.Contains(e));
        Assert.Contains("PATCH /api/v1/channels/{name}", listed);
        Assert.Empty(withoutExample);
    }

    private const string Validator = """
        const SwaggerParser = require(process.argv[2]);
        SwaggerParser.validate(process.argv[1])
          .then(api => console.log("valid OpenAPI " + api.openapi + ", " + Object.keys(api.paths).length + " paths"))
          .catch(e => { console.error(e.message); process.exit(1); });
        """;

    /// <summary>A route as OpenAPI writes it: <c>{**name}</c> becomes <c>{name}</c>, no trailing slash.</summary>
    private static string Normalize(string route) => route.Replace("{**", "{", StringComparison.Ordinal).TrimEnd('/') is { Length: > 0 } r ? r : "/";
}
