namespace Relay.Configuration;

/// <summary>Where a stream's source is in its lifecycle.</summary>
public enum StreamState
{
    /// <summary>Not pulling: an on-demand stream with no readers, or not started yet.</summary>
    Idle,

    /// <summary>A connection attempt is in progress.</summary>
    Connecting,

    /// <summary>Media is flowing.</summary>
    Online,

    /// <summary>The last attempt failed or the connection dropped; waiting before the next attempt.</summary>
    Backoff,

    /// <summary>The source failed in a way retrying soon will not fix (for example, wrong credentials); retried slowly.</summary>
    Faulted,

    /// <summary>The stream is being removed or the relay is shutting down.</summary>
    Stopping,

    /// <summary>Another node's relay pulls this stream (its <c>Node</c> setting names other nodes); this one does not.</summary>
    Elsewhere,
}
