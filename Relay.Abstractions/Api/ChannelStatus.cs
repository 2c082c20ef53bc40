namespace Relay.Api;

/// <summary>A channel as the API reports it (<c>GET /api/v1/channels</c>).</summary>
public sealed record ChannelStatus
{
    /// <summary>Gets the channel's name (its path on every output).</summary>
    public required string Name { get; init; }

    /// <summary>Gets the stream the channel shows.</summary>
    public required string Stream { get; init; }

    /// <summary>Gets where the channel is defined: <c>config</c> or <c>api</c>.</summary>
    public required string Origin { get; init; }

    /// <summary>Gets a value indicating whether the stream the channel shows exists.</summary>
    public required bool StreamExists { get; init; }

    /// <summary>Gets a value indicating whether media is flowing through the channel now.</summary>
    public required bool Online { get; init; }

    /// <summary>Gets how many times the channel switched streams since Relay started.</summary>
    public required long Switches { get; init; }

    /// <summary>Gets when the channel last switched, if it did.</summary>
    public DateTimeOffset? LastSwitch { get; init; }

    /// <summary>Gets the channel's tracks (those of the stream it shows).</summary>
    public required IReadOnlyList<TrackStatus> Tracks { get; init; }

    /// <summary>Gets the channel's readers.</summary>
    public required IReadOnlyList<ReaderStatus> Readers { get; init; }
}
