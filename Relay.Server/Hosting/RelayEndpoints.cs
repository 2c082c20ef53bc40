using System.Globalization;
using System.Net;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Relay.Configuration;

namespace Relay.Server.Hosting;

/// <summary>An HTTP endpoint to bind: where, and whether it is HTTPS.</summary>
internal sealed record HttpEndpoint(IPEndPoint EndPoint, bool Tls);

/// <summary>
/// The Kestrel endpoints: HTTP and HTTPS (from <c>--urls</c> / <c>ASPNETCORE_URLS</c> / <c>HTTP_PORTS</c>, default
/// <c>http://0.0.0.0:8080</c>), RTSP (<c>Relay:Rtsp:Address</c>/<c>Port</c>) and, with a certificate, RTSPS
/// (<c>Relay:Rtsp:TlsPort</c>), both served by <see cref="Rtsp.RtspConnectionHandler"/>. Kestrel ignores URLs once
/// endpoints are configured in code, so the URLs are parsed here and bound explicitly. After start, the bound ports
/// can be read back (port 0 binds a free one).
/// </summary>
internal sealed class RelayEndpoints
{
    private readonly List<(ListenOptions Options, bool Tls)> _http = [];
    private ListenOptions? _rtsp;
    private ListenOptions? _rtsps;

    /// <summary>Gets the bound RTSP endpoint.</summary>
    public IPEndPoint? Rtsp => _rtsp?.IPEndPoint;

    /// <summary>Gets the bound RTSPS endpoint, when a certificate is configured.</summary>
    public IPEndPoint? Rtsps => _rtsps?.IPEndPoint;

    /// <summary>Gets the bound HTTP (and HTTPS) endpoints.</summary>
    public IReadOnlyList<IPEndPoint> Http => _http.Select(l => l.Options.IPEndPoint).OfType<IPEndPoint>().ToList();

    /// <summary>Gets the bound endpoints as URLs (http:// or https://).</summary>
    public IEnumerable<string> HttpUrls => _http.Select(l => $"{(l.Tls ? "https" : "http")}://{l.Options.IPEndPoint}");

    /// <summary>Parses the HTTP URL list into endpoints.</summary>
    /// <exception cref="RelayConfigurationException">A URL is not usable.</exception>
    public static List<HttpEndpoint> ParseHttp(string? urls, string? httpPorts, bool tlsAvailable = false)
    {
        if (string.IsNullOrWhiteSpace(urls) && !string.IsNullOrWhiteSpace(httpPorts))
        {
            urls = string.Join(';', httpPorts.Split([';', ','], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(p => $"http://*:{p}"));
        }

        var endpoints = new List<HttpEndpoint>();
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

            var tls = string.Equals(address.Scheme, "https", StringComparison.OrdinalIgnoreCase);
            if (!tls && !string.Equals(address.Scheme, "http", StringComparison.OrdinalIgnoreCase))
            {
                errors.Add($"urls: '{url}': only http and https are served");
                continue;
            }

            if (tls && !tlsAvailable)
            {
                errors.Add($"urls: '{url}': https needs a certificate (Relay:Tls:Certificate:Path)");
                continue;
            }

            var host = address.Host;
            var ip = host is "*" or "+" or "0.0.0.0" ? IPAddress.Any
                : host is "[::]" or "::" ? IPAddress.IPv6Any
                : string.Equals(host, "localhost", StringComparison.OrdinalIgnoreCase) ? IPAddress.Loopback
                : IPAddress.TryParse(host.Trim('[', ']'), out var parsed) ? parsed : IPAddress.Any;
            endpoints.Add(new HttpEndpoint(new IPEndPoint(ip, address.Port), tls));
        }

        if (errors.Count > 0)
        {
            throw new RelayConfigurationException(errors);
        }

        return endpoints;
    }

    /// <summary>Configures Kestrel with the HTTP(S) endpoints and the RTSP (and RTSPS) endpoints.</summary>
    /// <param name="certificates">The certificate of HTTPS and RTSPS; null when none is configured.</param>
    public void Configure(KestrelServerOptions kestrel, IEnumerable<HttpEndpoint> http, RtspServerConfig rtsp, Auth.CertificateStore? certificates)
    {
        HttpsConnectionAdapterOptions? tls = certificates is null ? null : new()
        {
            ServerCertificateSelector = (_, _) => certificates.Current,
            HandshakeTimeout = rtsp.RequestTimeout,
        };
        foreach (var endpoint in http)
        {
            kestrel.Listen(endpoint.EndPoint, options =>
            {
                if (endpoint.Tls)
                {
                    options.UseHttps(tls!);
                }

                _http.Add((options, endpoint.Tls));
            });
        }

        var address = string.Equals(rtsp.Address, "localhost", StringComparison.OrdinalIgnoreCase) ? IPAddress.Loopback : IPAddress.Parse(rtsp.Address);
        kestrel.Listen(address, rtsp.Port, options =>
        {
            options.UseConnectionHandler<Rtsp.RtspConnectionHandler>();
            _rtsp = options;
        });
        if (tls is not null)
        {
            kestrel.Listen(address, rtsp.TlsPort, options =>
            {
                options.UseHttps(tls);
                options.UseConnectionHandler<Rtsp.RtspConnectionHandler>();
                _rtsps = options;
            });
        }
    }

    /// <summary>Describes where RTSP is served, for the start-up log.</summary>
    public string DescribeRtsp() =>
        (Rtsp is { } ep ? string.Create(CultureInfo.InvariantCulture, $"rtsp://{ep.Address}:{ep.Port}/{{stream}}") : "(not bound)")
        + (Rtsps is { } secure ? string.Create(CultureInfo.InvariantCulture, $" and rtsps://{secure.Address}:{secure.Port}/{{stream}}") : string.Empty);
}
