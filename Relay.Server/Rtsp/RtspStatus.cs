namespace Relay.Server.Rtsp;

/// <summary>The RTSP status codes Relay answers with (RFC 2326 §7.1.1).</summary>
internal static class RtspStatus
{
    public const int Ok = 200;
    public const int BadRequest = 400;
    public const int Unauthorized = 401;
    public const int Forbidden = 403;
    public const int NotFound = 404;
    public const int MethodNotAllowed = 405;
    public const int NotAcceptable = 406;
    public const int RequestEntityTooLarge = 413;
    public const int RequestUriTooLarge = 414;
    public const int UnsupportedMediaType = 415;
    public const int ParameterNotUnderstood = 451;
    public const int SessionNotFound = 454;
    public const int MethodNotValidInThisState = 455;
    public const int AggregateOperationNotAllowed = 459;
    public const int UnsupportedTransport = 461;
    public const int InternalServerError = 500;
    public const int NotImplemented = 501;
    public const int ServiceUnavailable = 503;
    public const int VersionNotSupported = 505;
    public const int OptionNotSupported = 551;

    public static string Reason(int status) => status switch
    {
        Ok => "OK",
        BadRequest => "Bad Request",
        Unauthorized => "Unauthorized",
        Forbidden => "Forbidden",
        NotFound => "Not Found",
        MethodNotAllowed => "Method Not Allowed",
        NotAcceptable => "Not Acceptable",
        RequestEntityTooLarge => "Request Entity Too Large",
        RequestUriTooLarge => "Request-URI Too Large",
        UnsupportedMediaType => "Unsupported Media Type",
        ParameterNotUnderstood => "Parameter Not Understood",
        SessionNotFound => "Session Not Found",
        MethodNotValidInThisState => "Method Not Valid in This State",
        AggregateOperationNotAllowed => "Aggregate Operation Not Allowed",
        UnsupportedTransport => "Unsupported Transport",
        InternalServerError => "Internal Server Error",
        NotImplemented => "Not Implemented",
        ServiceUnavailable => "Service Unavailable",
        VersionNotSupported => "RTSP Version Not Supported",
        OptionNotSupported => "Option Not Supported",
        _ => "Unknown",
    };
}
