namespace Relay.Configuration;

/// <summary>Where a new reader's media starts.</summary>
public enum StartAt
{
    /// <summary>At the cached keyframe: the reader gets a picture at once (up to one GOP behind live, then it catches up).</summary>
    Keyframe,

    /// <summary>At the next live keyframe: the reader waits up to one GOP for its first picture.</summary>
    Live,
}
