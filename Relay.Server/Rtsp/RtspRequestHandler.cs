using System.Globalization;
using System.Net;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Logging;
using Relay.Server.Auth;
using Relay.Server.Sdp;
using Relay.Server.Streams;

namespace Relay.Server.Rtsp;

/// <summary>
/// Answers the requests of one connection (RFC 2326 §10): OPTIONS, DESCRIBE, SETUP, PLAY, PAUSE, TEARDOWN,
/// GET_PARAMETER and SET_PARAMETER. Every problem is a status code for this client alone.
/// </summary>
internal sealed partial class RtspRequestHandler(RtspServer server, RtspConnection connection, ILogger logger)
{
    private const string Public = "OPTIONS, DESCRIBE, SETUP, PLAY, PAUSE, TEARDOWN, GET_PARAMETER, SET_PARAMETER";

    /// <summary>Handles one request.</summary>
    /// <returns>The response, and a session to start sending to once the response is written (after PLAY).</returns>
    public async Task<(RtspResponse Response, RtspSession? StartAfter)> HandleAsync(RtspRequest request, CancellationToken cancellationToken)
    {
        if (request.CSeq is null)
        {
            return (new RtspResponse(RtspStatus.BadRequest), null);
        }

        if (request.Version != "RTSP/1.0")
        {
            return (new RtspResponse(RtspStatus.VersionNotSupported), null);
        }

        if (request["Require"] is { } require)
        {
            // No option tags are supported (RFC 2326 §12.32).
            return (new RtspResponse(RtspStatus.OptionNotSupported).Header("Unsupported", require), null);
        }

        if (request.Method == "OPTIONS")
        {
            return (new RtspResponse(RtspStatus.Ok).Header("Public", Public), null);
        }

        var (principal, refused) = await AuthenticateAsync(request, cancellationToken);
        if (principal is null)
        {
            return (refused!, null);
        }

        return request.Method switch
        {
            "DESCRIBE" => (await DescribeAsync(request, principal, cancellationToken), null),
            "SETUP" => (Setup(request, principal), null),
            "PLAY" => Play(request, principal),
            "PAUSE" => (Pause(request, principal), null),
            "TEARDOWN" => (Teardown(request, principal), null),
            "GET_PARAMETER" => (KeepAlive(request, principal, allowBody: true), null),
            "SET_PARAMETER" => (KeepAlive(request, principal, allowBody: false), null),
            "ANNOUNCE" or "RECORD" or "REDIRECT" => (new RtspResponse(RtspStatus.MethodNotAllowed).Header("Allow", Public), null),
            _ => (new RtspResponse(RtspStatus.NotImplemented).Header("Public", Public), null),
        };
    }

    /// <summary>
    /// Checks the request's credentials (RFC 2326 §D.1: every request carries them). Wrong ones are answered late once
    /// an address has failed a few times, and an address that failed too often is refused for a while.
    /// </summary>
    /// <returns>Who sent the request, or null and the response to send.</returns>
    private async Task<(Principal? Principal, RtspResponse? Refused)> AuthenticateAsync(RtspRequest request, CancellationToken cancellationToken)
    {
        var access = server.Access;
        var result = access.Authenticate(request["Authorization"], request.Method, request.Uri, connection.RemoteAddress, "rtsp");
        switch (result.Status)
        {
            case AuthStatus.Ok:
                return (result.Principal, null);
            case AuthStatus.Blocked:
                return (null, new RtspResponse(RtspStatus.ServiceUnavailable) { CloseConnection = true }
                    .Header("Retry-After", ((int)Math.Ceiling(result.RetryAfter.TotalSeconds)).ToString(CultureInfo.InvariantCulture)));
        }

        if (result.Delay > TimeSpan.Zero)
        {
            await Task.Delay(result.Delay, server.Time, cancellationToken);
        }

        var response = new RtspResponse(RtspStatus.Unauthorized);
        foreach (var challenge in access.Challenges(stale: result.Status == AuthStatus.Stale))
        {
            response.Header("WWW-Authenticate", challenge);
        }

        return (null, response);
    }

    /// <summary>
    /// Finds what a request names, if <paramref name="principal"/> may read it: 403 for a path it may not read (whether
    /// or not it exists, so names are not revealed), 404 for one that does not exist.
    /// </summary>
    private bool TryResolveFor(Principal principal, string uri, out StreamHub stream, out int? track, out RtspResponse error)
    {
        if (TryResolve(uri, out stream, out track))
        {
            error = null!;
            if (principal.CanRead(stream.Name))
            {
                return true;
            }

            Log.Forbidden(logger, principal.Name, stream.Name, connection.RemoteAddress.ToString());
            error = new RtspResponse(RtspStatus.Forbidden);
            return false;
        }

        error = new RtspResponse(PathOf(uri) is { } path && !principal.CanRead(path) ? RtspStatus.Forbidden : RtspStatus.NotFound);
        return false;
    }

    private async Task<RtspResponse> DescribeAsync(RtspRequest request, Principal principal, CancellationToken cancellationToken)
    {
        if (!TryResolveFor(principal, request.Uri, out var stream, out var track, out var error))
        {
            return error;
        }

        if (track is not null)
        {
            return new RtspResponse(RtspStatus.NotFound);
        }

        // The lease starts an on-demand stream; a reader's SETUP takes its own lease right after.
        using (stream.Lease())
        {
            if (!await stream.WaitUntilReadyAsync(server.Config.DescribeTimeout, cancellationToken))
            {
                return new RtspResponse(RtspStatus.ServiceUnavailable).Header("Retry-After", "5");
            }
        }

        var media = server.GetMedia(stream);
        var local = connection.LocalEndPoint?.Address ?? IPAddress.Loopback;
        var sdp = SdpBuilder.Build(stream.Name, media.Tracks, media.SdpSessionId, media.SdpVersion, local.ToString());
        return new RtspResponse(RtspStatus.Ok)
            .Header("Content-Base", request.Uri.TrimEnd('/') + "/")
            .Content("application/sdp", sdp);
    }

    private RtspResponse Setup(RtspRequest request, Principal principal)
    {
        if (!TryResolveFor(principal, request.Uri, out var stream, out var track, out var error))
        {
            return error;
        }

        if (!stream.IsReady)
        {
            return new RtspResponse(RtspStatus.ServiceUnavailable).Header("Retry-After", "5");
        }

        var media = server.GetMedia(stream);
        var tracks = media.Tracks;
        if (track is null)
        {
            if (tracks.Count != 1)
            {
                return new RtspResponse(RtspStatus.AggregateOperationNotAllowed);
            }

            track = 0;
        }

        if (track >= tracks.Count)
        {
            return new RtspResponse(RtspStatus.NotFound);
        }

        // On RTSPS, media stays inside the TLS connection: UDP (plain RTP) is not offered.
        var choice = RtspTransport.ParseAll(request["Transport"]).FirstOrDefault(t =>
            t.IsAvp && !t.IsMulticast && (t.Mode is null || t.Mode.Equals("PLAY", StringComparison.OrdinalIgnoreCase))
            && (t.IsTcp || (t.ClientPort is not null && !connection.IsSecure)));
        if (choice is null || (!choice.IsTcp && !server.IsUdpReady))
        {
            return new RtspResponse(RtspStatus.UnsupportedTransport);
        }

        RtspSession session;
        var created = false;
        if (request.SessionId is { } id)
        {
            if (!server.TryGetSession(id, out session))
            {
                return new RtspResponse(RtspStatus.SessionNotFound);
            }

            if (session.Media != media)
            {
                return new RtspResponse(RtspStatus.AggregateOperationNotAllowed);
            }

            if (session.IsPlaying)
            {
                return new RtspResponse(RtspStatus.MethodNotValidInThisState);
            }

            if (session.IsTcp != choice.IsTcp)
            {
                return new RtspResponse(RtspStatus.UnsupportedTransport);
            }
        }
        else
        {
            // Each session holds a lease on its stream (an on-demand camera is pulled for it): one connection may
            // not pile them up without bound.
            if (connection.Sessions.Count >= server.Config.MaxSessionsPerConnection)
            {
                server.RefuseSession("per_connection", connection.RemoteAddress);
                return new RtspResponse(RtspStatus.ServiceUnavailable);
            }

            if (server.SessionCount(connection.RemoteAddress) >= server.Config.MaxSessionsPerAddress)
            {
                server.RefuseSession("per_address", connection.RemoteAddress);
                return new RtspResponse(RtspStatus.ServiceUnavailable);
            }

            session = new RtspSession(server, connection, media, choice.IsTcp, stream.Lease(), server.Loggers.CreateLogger<RtspSession>());
            created = true;
        }

        var ssrc = media.Track(track.Value)?.Ssrc ?? 0;
        string transportHeader;
        TrackTransport transport;
        if (choice.IsTcp)
        {
            var (rtp, rtcp) = choice.Interleaved ?? (2 * track.Value, (2 * track.Value) + 1);
            if (session.Transports.Any(t => t.Track != track && (t.RtpChannel == rtp || t.RtcpChannel == rtp || t.RtpChannel == rtcp || t.RtcpChannel == rtcp)))
            {
                return new RtspResponse(RtspStatus.UnsupportedTransport);
            }

            transport = new TrackTransport(track.Value, request.Uri, rtp, rtcp, null, null);
            transportHeader = Invariant($"RTP/AVP/TCP;unicast;interleaved={rtp}-{rtcp};ssrc={ssrc:X8};mode=\"PLAY\"");
        }
        else
        {
            var (rtpPort, rtcpPort) = choice.ClientPort!.Value;
            transport = new TrackTransport(
                track.Value,
                request.Uri,
                -1,
                -1,
                new IPEndPoint(connection.RemoteAddress, rtpPort),
                new IPEndPoint(connection.RemoteAddress, rtcpPort));
            transportHeader = Invariant($"RTP/AVP;unicast;client_port={rtpPort}-{rtcpPort};server_port={server.Udp.RtpPort}-{server.Udp.RtcpPort};ssrc={ssrc:X8};mode=\"PLAY\"");
        }

        session.AddTrack(transport);
        if (created)
        {
            server.Register(session);
            Log.SessionStarted(logger, session.Id, stream.Name, choice.IsTcp ? "tcp" : "udp", connection.RemoteAddress.ToString());
        }

        if (transport.RtcpEndPoint is not null)
        {
            server.AddRtcpRoute(transport.RtcpEndPoint, session, track.Value);
        }

        session.Touch();
        return new RtspResponse(RtspStatus.Ok)
            .Header("Transport", transportHeader)
            .Header("Session", Invariant($"{session.Id};timeout={(int)server.Config.SessionTimeout.TotalSeconds}"));
    }

    private (RtspResponse, RtspSession?) Play(RtspRequest request, Principal principal)
    {
        if (!TryGetSession(request, principal, out var session, out var error))
        {
            return (error, null);
        }

        if (session.Media.IsEnded)
        {
            return (new RtspResponse(RtspStatus.NotFound), null);
        }

        var stream = session.Media.Stream;
        var rtpInfo = session.Media.Play(session, stream.Config.StartAt, stream.ReaderOptions);
        var transports = session.Transports.ToDictionary(t => t.Track);
        var info = string.Join(',', rtpInfo.Select(i => Invariant($"url={transports[i.Track].ControlUri};seq={i.Sequence};rtptime={i.RtpTime}")));
        var response = new RtspResponse(RtspStatus.Ok)
            .Header("Session", session.Id)
            .Header("Range", "npt=0.000-");
        if (info.Length > 0)
        {
            response.Header("RTP-Info", info);
        }

        return (response, session);
    }

    private RtspResponse Pause(RtspRequest request, Principal principal)
    {
        if (!TryGetSession(request, principal, out var session, out var error))
        {
            return error;
        }

        session.Pause();
        return new RtspResponse(RtspStatus.Ok).Header("Session", session.Id);
    }

    private RtspResponse Teardown(RtspRequest request, Principal principal)
    {
        if (!TryGetSession(request, principal, out var session, out var error))
        {
            return error;
        }

        session.End("TEARDOWN");
        return new RtspResponse(RtspStatus.Ok);
    }

    private RtspResponse KeepAlive(RtspRequest request, Principal principal, bool allowBody)
    {
        RtspSession? session = null;
        if (request.SessionId is not null && !TryGetSession(request, principal, out session, out var error))
        {
            return error;
        }

        if (!allowBody && request.Body.Length > 0)
        {
            return new RtspResponse(RtspStatus.ParameterNotUnderstood);
        }

        var response = new RtspResponse(RtspStatus.Ok);
        return session is null ? response : response.Header("Session", session.Id);
    }

    private bool TryGetSession(RtspRequest request, Principal principal, out RtspSession session, out RtspResponse error)
    {
        error = new RtspResponse(RtspStatus.SessionNotFound);
        if (request.SessionId is not { } id || !server.TryGetSession(id, out session))
        {
            session = null!;
            return false;
        }

        if (!principal.CanRead(session.Media.Stream.Name))
        {
            Log.Forbidden(logger, principal.Name, session.Media.Stream.Name, connection.RemoteAddress.ToString());
            error = new RtspResponse(RtspStatus.Forbidden);
            session = null!;
            return false;
        }

        session.Touch();
        return true;
    }

    /// <summary>Finds the stream (and track, for a control URL ending in trackID=N) a request URI names.</summary>
    private bool TryResolve(string uri, out StreamHub stream, out int? track)
    {
        stream = null!;
        track = null;
        var path = PathOf(uri);
        if (path is null)
        {
            return false;
        }

        if (server.Catalog.TryGetHub(path, out var found))
        {
            stream = found;
            return true;
        }

        var slash = path.LastIndexOf('/');
        if (slash > 0 && TrackSegment().Match(path[(slash + 1)..]) is { Success: true } match
            && server.Catalog.TryGetHub(path[..slash], out found))
        {
            stream = found;
            track = int.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture);
            return true;
        }

        return false;
    }

    private static string? PathOf(string uri)
    {
        if (uri.StartsWith('/'))
        {
            return Uri.UnescapeDataString(uri.Split('?')[0]).Trim('/');
        }

        return Uri.TryCreate(uri, UriKind.Absolute, out var parsed) && parsed.Scheme is "rtsp" or "rtsps" or "rtspt"
            ? Uri.UnescapeDataString(parsed.AbsolutePath).Trim('/')
            : null;
    }

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);

    [GeneratedRegex("^trackID=([0-9]{1,3})$", RegexOptions.IgnoreCase)]
    private static partial Regex TrackSegment();

    private static partial class Log
    {
        [LoggerMessage(EventIds.RtspSessionStarted, LogLevel.Information, "RTSP session {Session} on {Stream} ({Transport}) for {Client}.")]
        public static partial void SessionStarted(ILogger logger, string session, string stream, string transport, string client);

        [LoggerMessage(EventIds.RtspBadRequest + 20, LogLevel.Information, "RTSP: {User} may not read {Stream} (from {Client}); answered 403.")]
        public static partial void Forbidden(ILogger logger, string user, string stream, string client);

    }
}
