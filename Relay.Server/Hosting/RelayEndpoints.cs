using System.Globalization;
using System.Net;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Relay.Configuration;

namespace Relay.Server.Hosting;

/// <summary>
/// The Kestrel endpoints: HTTP (from <c>--urls</c> / <c>ASPNETCORE_URLS</c> / <c>HTTP_PORTS</c>, default
/// <c>http://0.0.0.0:8080</c>) and RTSP (<c>Relay:Rtsp:Address</c>/<c>Port</c>, served by
/// <see cref="Rtsp.RtspConnectionHandler"/>). Kestrel ignores URLs once endpoints are configured in code, so the
/// URLs are parsed here and bound explicitly. After start, the bound ports can be read back (port 0 binds a free one).
/// </summary>
internal sealed class RelayEndpoints
{
    private readonly List<ListenOptions> _http = [];
    private ListenOptions? _rtsp;

    /// <summary>Gets the bound RTSP endpoint.</summary>
    public IPEndPoint? Rtsp => _rtsp?.IPEndPoint;

    /// <summary>Gets the bound HTTP endpoints.</summary>
    public IReadOnlyList<IPEndPoint> Http => _http.Select(l => l.IPEndPoint).OfType<IPEndPoint>().ToList();

    /// <summary>Parses the HTTP URL list into endpoints.</summary>
    /// <exception cref="RelayConfigurationException">A URL is not usable.</exception>
    public static List<IPEndPoint> ParseHttp(string? urls, string? httpPorts)
    {
        if (string.IsNullOrWhiteSpace(urls) && !string.IsNullOrWhiteSpace(httpPorts))
        {
            urls = string.Join(';', httpPorts.Split([';', ','], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(p => $"http://*:{p}"));
        }

        var endpoints = new List<IPEndPoint>();
        var errors = new List<string>();
        foreach (var url in (string.IsNullOrWhiteSpace(urls) ? "http://0.0.0.0:8080" : urls).Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            BindingAddress address;
            try
            {
                address = BindingAddress.Parse(url);
            }
            catch (FormatException e)
            {
                errors.Add($"urls: '{url}' is not a URL ({e.Message})");
                continue;
            }

            if (!string.Equals(address.Scheme, "http", StringComparison.OrdinalIgnoreCase))
            {
                errors.Add($"urls: '{url}': only http is served; terminate TLS in front of Relay");
                continue;
            }

            var host = address.Host;
            var ip = host is "*" or "+" or "0.0.0.0" ? IPAddress.Any
                : host is "[::]" or "::" ? IPAddress.IPv6Any
                : string.Equals(host, "localhost", StringComparison.OrdinalIgnoreCase) ? IPAddress.Loopback
                : IPAddress.TryParse(host.Trim('[', ']'), out var parsed) ? parsed : IPAddress.Any;
            endpoints.Add(new IPEndPoint(ip, address.Port));
        }

        if (errors.Count > 0)
        {
            throw new RelayConfigurationException(errors);
        }

        return endpoints;
    }

    /// <summary>Configures Kestrel with the HTTP endpoints and the RTSP endpoint.</summary>
    public void Configure(KestrelServerOptions kestrel, IEnumerable<IPEndPoint> http, RtspServerConfig rtsp)
    {
        foreach (var endpoint in http)
        {
            kestrel.Listen(endpoint, options => _http.Add(options));
        }

        var address = string.Equals(rtsp.Address, "localhost", StringComparison.OrdinalIgnoreCase) ? IPAddress.Loopback : IPAddress.Parse(rtsp.Address);
        kestrel.Listen(address, rtsp.Port, options =>
        {
            options.UseConnectionHandler<Rtsp.RtspConnectionHandler>();
            _rtsp = options;
        });
    }

    /// <summary>Describes where RTSP is served, for the start-up log.</summary>
    public string DescribeRtsp() => Rtsp is { } ep ? string.Create(CultureInfo.InvariantCulture, $"rtsp://{ep.Address}:{ep.Port}/{{stream}}") : "(not bound)";
}
