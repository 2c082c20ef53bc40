using System.Reflection;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.FileProviders;

namespace Relay.Server.Web;

/// <summary>
/// The web page: the stream grid at <c>/</c>, the player at <c>/watch/{name}</c>, and their assets (hls.js among
/// them) under <c>/ui/</c>. Everything is embedded in the binary (it works the same in the Native AOT build) and
/// nothing is loaded from elsewhere: edge nodes have no internet.
/// </summary>
internal static class WebEndpoints
{
    private static readonly EmbeddedFileProvider Files = new(typeof(WebEndpoints).Assembly, "Relay.Server.wwwroot");

    public static WebApplication MapWebPages(this WebApplication app)
    {
        app.UseStaticFiles(new StaticFileOptions
        {
            FileProvider = Files,
            RequestPath = "/ui",
            OnPrepareResponse = c => c.Context.Response.Headers.CacheControl = "no-cache",
        });
        app.MapGet("/", () => Page("index.html")).ExcludeFromDescription().RequireAuthorization(Auth.Policies.Read);
        app.MapGet("/watch/{**name}", (string name) => Page("watch.html")).ExcludeFromDescription().RequireAuthorization(Auth.Policies.Read);
        app.MapGet("/view/{**name}", (string name) => Page("view.html")).ExcludeFromDescription().RequireAuthorization(Auth.Policies.Read);
        app.MapGet("/manage", () => Page("manage.html")).ExcludeFromDescription().RequireAuthorization(Auth.Policies.Write).AddEndpointFilter(Api.WriteAccess.FilterAsync);
        return app;
    }

    private static IResult Page(string file)
    {
        var info = Files.GetFileInfo(file);
        return info.Exists
            ? Results.Stream(info.CreateReadStream(), "text/html; charset=utf-8", lastModified: info.LastModified)
            : Results.NotFound();
    }
}
