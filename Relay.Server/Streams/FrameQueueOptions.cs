namespace Relay.Server.Streams;

/// <summary>Bounds of one reader's queue.</summary>
/// <param name="MaxFrames">The most frames queued; beyond it the reader skips to the next keyframe.</param>
/// <param name="MaxBytes">The most bytes queued; beyond it the reader skips to the next keyframe.</param>
/// <param name="StallTimeout">How long the reader may make no progress while its queue is full before it is faulted.</param>
internal sealed record FrameQueueOptions(int MaxFrames, long MaxBytes, TimeSpan StallTimeout)
{
    /// <summary>Gets defaults matching <see cref="Relay.Configuration.StreamConfig"/>.</summary>
    public static FrameQueueOptions Default { get; } = new(1024, 8 * 1024 * 1024, TimeSpan.FromSeconds(10));
}
