namespace Relay.Configuration;

/// <summary>
/// The JPEG outputs (<c>Relay:Mjpeg</c>): snapshots at <c>/streams/{name}/snapshot.jpg</c> and MJPEG at
/// <c>/streams/{name}/mjpeg</c>, decoded and encoded by GStreamer.
/// </summary>
public sealed record MjpegConfig
{
    /// <summary>Gets the most MJPEG viewers served at once, over every stream; more get 503. <value>The default value is 100.</value></summary>
    public int MaxViewers { get; init; } = 100;

    /// <summary>Gets the highest frame rate a viewer may ask for. <value>The default value is 30.</value></summary>
    public int MaxFps { get; init; } = 30;

    /// <summary>Gets the largest width a viewer may ask for, in pixels. <value>The default value is 3840.</value></summary>
    public int MaxWidth { get; init; } = 3840;

    /// <summary>Gets the JPEG quality, 1–100. <value>The default value is 80.</value></summary>
    public int Quality { get; init; } = 80;

    /// <summary>
    /// Gets how long a snapshot is reused for requests of the same stream and width.
    /// <value>The default value is 1 s.</value>
    /// </summary>
    public TimeSpan SnapshotMaxAge { get; init; } = TimeSpan.FromSeconds(1);
}
