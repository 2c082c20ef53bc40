using Relay.Media;

namespace Relay.Server.Push;

/// <summary>Where a push's access units go: Relay's own RTMP publisher (<see cref="RtmpPush"/>) or a GStreamer pipeline (<see cref="PushPipeline"/>).</summary>
internal interface IPushOutput : IAsyncDisposable
{
    /// <summary>Gets the tracks that are pushed.</summary>
    IReadOnlySet<int> Tracks { get; }

    /// <summary>
    /// Gets why the output stopped taking media, once it has (set before <see cref="PushAsync"/> returns false for
    /// it): the scrubbed message, and whether the destination refused (a wrong stream key or credentials).
    /// </summary>
    (string Message, bool Refused)? Failure { get; }

    /// <summary>Gets the bytes taken but not sent yet.</summary>
    long QueuedBytes { get; }

    /// <summary>Pushes one unit (units of tracks that are not pushed are ignored); called from one thread at a time.</summary>
    /// <returns>False when the output no longer takes media (its error has been reported).</returns>
    ValueTask<bool> PushAsync(AccessUnit unit, CancellationToken cancellationToken);
}
