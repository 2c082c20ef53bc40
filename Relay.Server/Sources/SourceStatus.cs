using Relay.Configuration;

namespace Relay.Server.Sources;

/// <summary>A snapshot of a stream's source: where it is in its lifecycle and what went wrong last.</summary>
/// <param name="State">The lifecycle state.</param>
/// <param name="Since">When it entered <paramref name="State"/>.</param>
/// <param name="LastError">The last failure kind, or <see cref="RelayError.None"/>.</param>
/// <param name="LastErrorMessage">The last failure, redacted; null when none.</param>
/// <param name="LastErrorAt">When the last failure happened.</param>
/// <param name="Reconnects">How many times the source was reconnected (after a failed attempt or a lost connection).</param>
/// <param name="NextAttemptIn">When in <see cref="StreamState.Backoff"/> or <see cref="StreamState.Faulted"/>: the delay before the next attempt.</param>
internal sealed record SourceStatus(
    StreamState State,
    DateTimeOffset Since,
    RelayError LastError,
    string? LastErrorMessage,
    DateTimeOffset? LastErrorAt,
    long Reconnects,
    TimeSpan? NextAttemptIn);
