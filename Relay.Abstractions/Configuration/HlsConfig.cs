namespace Relay.Configuration;

/// <summary>
/// The HLS output (<c>Relay:Hls</c>): low-latency HLS with fMP4 segments at <c>/streams/{name}/index.m3u8</c>,
/// muxed once per stream while anyone requests it, held in memory.
/// </summary>
public sealed record HlsConfig
{
    /// <summary>
    /// Gets the shortest segment: a segment ends at the first keyframe after this long, so segments follow the
    /// camera's GOP. <value>The default value is 1 s.</value>
    /// </summary>
    public TimeSpan SegmentDuration { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// Gets the partial segment (LL-HLS part) duration, rounded to whole frames.
    /// <value>The default value is 200 ms.</value>
    /// </summary>
    public TimeSpan PartDuration { get; init; } = TimeSpan.FromMilliseconds(200);

    /// <summary>Gets the number of complete segments a playlist lists. <value>The default value is 7.</value></summary>
    public int SegmentCount { get; init; } = 7;

    /// <summary>Gets how long a stream's muxer runs after its last request. <value>The default value is 30 s.</value></summary>
    public TimeSpan IdleTimeout { get; init; } = TimeSpan.FromSeconds(30);
}
