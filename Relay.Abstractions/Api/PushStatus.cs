namespace Relay.Api;

/// <summary>One push target of a stream, as the status API reports it. The URL is redacted (stream key, credentials).</summary>
public sealed record PushStatus
{
    /// <summary>Gets the target's name.</summary>
    public required string Name { get; init; }

    /// <summary>Gets the destination without its stream key or credentials.</summary>
    public required string Url { get; init; }

    /// <summary>
    /// Gets where the push is: <c>disabled</c>, <c>waiting</c> (for the camera's media), <c>connecting</c>, <c>pushing</c>,
    /// <c>retrying</c> (after a failure, see <see cref="LastError"/>), <c>faulted</c> (the destination refused several
    /// times in a row, a wrong stream key or password: tried again rarely until someone fixes it) or <c>unsupported</c>
    /// (the stream cannot be pushed there, for example H.265 over RTMP).
    /// </summary>
    public required string State { get; init; }

    /// <summary>Gets when the push entered <see cref="State"/>.</summary>
    public required DateTimeOffset Since { get; init; }

    /// <summary>Gets the last failure, redacted, when there was one.</summary>
    public string? LastError { get; init; }

    /// <summary>Gets when the last failure happened.</summary>
    public DateTimeOffset? LastErrorAt { get; init; }

    /// <summary>Gets the bytes of media handed to the push pipeline.</summary>
    public required long Bytes { get; init; }

    /// <summary>Gets how many times the push connected again after a failure.</summary>
    public required long Reconnects { get; init; }

    /// <summary>Gets the frames skipped because the destination could not keep up.</summary>
    public required long SkippedFrames { get; init; }
}
