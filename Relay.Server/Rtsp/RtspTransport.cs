using System.Globalization;

namespace Relay.Server.Rtsp;

/// <summary>One alternative of a Transport header (RFC 2326 §12.39).</summary>
internal sealed record RtspTransport
{
    /// <summary>Gets the transport protocol and profile, e.g. <c>RTP/AVP</c>, <c>RTP/AVP/TCP</c>.</summary>
    public required string Protocol { get; init; }

    public bool IsTcp => Protocol.EndsWith("/TCP", StringComparison.OrdinalIgnoreCase);

    public bool IsMulticast { get; init; }

    public (int Rtp, int Rtcp)? Interleaved { get; init; }

    public (int Rtp, int Rtcp)? ClientPort { get; init; }

    public string? Mode { get; init; }

    /// <summary>Gets a value indicating whether the profile is plain RTP/AVP (not SAVP, AVPF, …).</summary>
    public bool IsAvp => Protocol.Equals("RTP/AVP", StringComparison.OrdinalIgnoreCase)
        || Protocol.Equals("RTP/AVP/UDP", StringComparison.OrdinalIgnoreCase)
        || Protocol.Equals("RTP/AVP/TCP", StringComparison.OrdinalIgnoreCase);

    /// <summary>Parses every comma-separated alternative; malformed ones are skipped.</summary>
    public static List<RtspTransport> ParseAll(string? header)
    {
        var result = new List<RtspTransport>();
        if (string.IsNullOrWhiteSpace(header))
        {
            return result;
        }

        foreach (var alternative in header.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var parts = alternative.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            if (parts.Length == 0)
            {
                continue;
            }

            var transport = new RtspTransport { Protocol = parts[0] };
            var valid = true;
            foreach (var part in parts.Skip(1))
            {
                var eq = part.IndexOf('=', StringComparison.Ordinal);
                var name = (eq < 0 ? part : part[..eq]).ToLowerInvariant();
                var value = eq < 0 ? null : part[(eq + 1)..].Trim('"');
                switch (name)
                {
                    case "multicast":
                        transport = transport with { IsMulticast = true };
                        break;
                    case "interleaved":
                        var channels = ParseRange(value, 255);
                        valid &= channels is not null;
                        transport = transport with { Interleaved = channels };
                        break;
                    case "client_port":
                        var ports = ParseRange(value, 65535);
                        valid &= ports is { Rtp: > 0, Rtcp: > 0 };
                        transport = transport with { ClientPort = ports };
                        break;
                    case "mode":
                        transport = transport with { Mode = value };
                        break;
                }
            }

            if (valid)
            {
                result.Add(transport);
            }
        }

        return result;
    }

    private static (int Rtp, int Rtcp)? ParseRange(string? value, int max)
    {
        if (value is null)
        {
            return null;
        }

        var dash = value.IndexOf('-', StringComparison.Ordinal);
        if (!int.TryParse(dash < 0 ? value : value[..dash], NumberStyles.None, CultureInfo.InvariantCulture, out var first) || first > max)
        {
            return null;
        }

        if (dash < 0)
        {
            // One number: RTCP is the next one, which must exist (interleaved=255 has no channel for RTCP).
            return first < max ? (first, first + 1) : null;
        }

        // RTP and RTCP need two different channels or ports.
        return int.TryParse(value[(dash + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out var second) && second <= max && second != first
            ? (first, second)
            : null;
    }
}
