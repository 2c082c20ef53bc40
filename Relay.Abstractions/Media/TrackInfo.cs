namespace Relay.Media;

/// <summary>
/// Describes one track of a stream: what it is, and the codec parameters a reader needs to decode it
/// (which also go into the SDP that Relay serves).
/// </summary>
public sealed record TrackInfo
{
    /// <summary>Gets the track's index within its stream (0-based, in SDP order).</summary>
    public required int Index { get; init; }

    /// <summary>Gets what the track carries.</summary>
    public required MediaKind Kind { get; init; }

    /// <summary>Gets the encoding of the track's access units.</summary>
    public required Codec Codec { get; init; }

    /// <summary>Gets the RTP clock rate in Hz (90000 for video, the sample rate for most audio).</summary>
    public required int ClockRate { get; init; }

    /// <summary>Gets the number of audio channels; 0 when unknown or not audio.</summary>
    public int Channels { get; init; }

    /// <summary>Gets the coded picture width in pixels, when known.</summary>
    public int? Width { get; init; }

    /// <summary>Gets the coded picture height in pixels, when known.</summary>
    public int? Height { get; init; }

    /// <summary>Gets the nominal frame rate in frames per second, when known.</summary>
    public double? FrameRate { get; init; }

    /// <summary>Gets the H.265 video parameter set (without start code), when known.</summary>
    public ReadOnlyMemory<byte> Vps { get; init; }

    /// <summary>Gets the H.264/H.265 sequence parameter set (without start code), when known.</summary>
    public ReadOnlyMemory<byte> Sps { get; init; }

    /// <summary>Gets the H.264/H.265 picture parameter set (without start code), when known.</summary>
    public ReadOnlyMemory<byte> Pps { get; init; }

    /// <summary>Gets the AAC AudioSpecificConfig, when known.</summary>
    public ReadOnlyMemory<byte> AudioConfig { get; init; }

    /// <summary>
    /// Gets the RTP encoding name as the camera announced it (the rtpmap name, for example
    /// <c>VND.ONVIF.METADATA</c>); used for <see cref="Codec.Passthrough"/> tracks.
    /// </summary>
    public string? EncodingName { get; init; }

    /// <summary>Gets the encoding parameters of the rtpmap (for audio: channels), as announced; passthrough only.</summary>
    public string? EncodingParameters { get; init; }

    /// <summary>Gets the RTP payload type the camera used; passthrough tracks with a static type (below 96) keep it.</summary>
    public int? PayloadType { get; init; }

    /// <summary>Gets the camera's fmtp parameters (the text after the payload type), when any; passthrough only.</summary>
    public string? Fmtp { get; init; }

    /// <summary>Gets a value indicating whether the codec parameters a decoder needs are known.</summary>
    public bool HasDecoderConfiguration => Codec switch
    {
        Codec.H264 => !Sps.IsEmpty && !Pps.IsEmpty,
        Codec.H265 => !Vps.IsEmpty && !Sps.IsEmpty && !Pps.IsEmpty,
        Codec.Aac => !AudioConfig.IsEmpty,
        _ => true,
    };

    /// <inheritdoc />
    public override string ToString()
    {
        var shape = Kind switch
        {
            MediaKind.Video when Width is not null => $" {Width}x{Height}{(FrameRate is { } fps ? $"@{fps:0.##}" : string.Empty)}",
            MediaKind.Audio => $" {ClockRate} Hz{(Channels > 0 ? $" {Channels} ch" : string.Empty)}",
            _ => string.Empty,
        };
        return $"#{Index} {Kind.ToString().ToLowerInvariant()} {(Codec == Codec.Passthrough ? EncodingName ?? "passthrough" : Codec.ToString())}{shape}";
    }
}
