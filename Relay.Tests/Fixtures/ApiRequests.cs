using System.Net;
using System.Text;
using System.Text.Json;

namespace Relay.Tests.Fixtures;

/// <summary>Requests to the management API as an operator's client sends them, and its problem answers read back.</summary>
public static class ApiRequests
{
    /// <summary>Gets <paramref name="body"/> as a JSON request body.</summary>
    public static StringContent Json(object body) => new(JsonSerializer.Serialize(body), Encoding.UTF8, "application/json");

    /// <summary>Sends <paramref name="body"/> (JSON, or nothing) with the conditional headers given, as written.</summary>
    public static Task<HttpResponseMessage> SendAsync(HttpClient http, HttpMethod method, string path, object? body, string? ifMatch = null, string? ifNoneMatch = null)
    {
        var request = new HttpRequestMessage(method, path) { Content = body is null ? null : Json(body) };
        if (ifMatch is not null)
        {
            request.Headers.TryAddWithoutValidation("If-Match", ifMatch);
        }

        if (ifNoneMatch is not null)
        {
            request.Headers.TryAddWithoutValidation("If-None-Match", ifNoneMatch);
        }

        return http.SendAsync(request);
    }

    /// <summary>Reads an RFC 9457 problem answer (asserting it is one): its status and the settings its <c>errors</c> name.</summary>
    public static async Task<(HttpStatusCode Status, List<string> Errors)> ProblemAsync(HttpResponseMessage response)
    {
        using (response)
        {
            Assert.True(response.Content.Headers.ContentType?.MediaType == "application/problem+json", $"{(int)response.StatusCode} {response.Content.Headers.ContentType}: {await response.Content.ReadAsStringAsync()}");
            using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
            var errors = body.RootElement.TryGetProperty("errors", out var e) ? e.EnumerateObject().Select(p => p.Name).ToList() : [];
            return (response.StatusCode, errors);
        }
    }
}
