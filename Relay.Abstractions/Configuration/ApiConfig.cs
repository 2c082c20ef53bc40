namespace Relay.Configuration;

/// <summary>The management API (<c>Relay:Api</c>).</summary>
public sealed record ApiConfig
{
    /// <summary>
    /// Gets a value indicating whether write requests (<c>POST</c>, <c>PUT</c>, <c>PATCH</c>, <c>DELETE</c> under
    /// <c>/api/v1</c>) are accepted from addresses other than loopback. Reads are always open.
    /// <value>The default value is false: only a client on the relay's own machine may change it.</value>
    /// </summary>
    public bool AllowRemoteWrites { get; init; }
}
