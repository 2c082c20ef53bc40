namespace Relay.Server.Rtsp;

/// <summary>
/// What the RTSP server reports about its requests, refusals, timeouts and readers' first frames. The protocol code
/// only calls these; the Prometheus names, labels and their bounds live with the exporter (Metrics/RelayMetrics).
/// </summary>
internal interface IRtspMetrics
{
    /// <summary>A request was answered.</summary>
    /// <param name="method">The request's method as the client sent it.</param>
    /// <param name="status">The response's status code.</param>
    void RequestAnswered(string method, int status);

    /// <summary>A request could not be parsed; the connection is closed with <paramref name="status"/>.</summary>
    void MalformedRequest(int status);

    /// <summary>A connection was closed by a timeout: <c>idle</c>, <c>request</c> (a request not completed in time) or <c>response</c> (the client reads nothing).</summary>
    void ConnectionTimedOut(string kind);

    /// <summary>A connection was refused at once by a limit (<c>max_connections</c>, <c>per_address</c>).</summary>
    void ConnectionRefused(string reason);

    /// <summary>A SETUP was refused by a session limit (<c>per_connection</c>, <c>per_address</c>).</summary>
    void SessionRefused(string reason);

    /// <summary>A reader's first frame after PLAY went out, <paramref name="sincePlay"/> after the request.</summary>
    void FirstFrameSent(bool tcp, TimeSpan sincePlay);
}
