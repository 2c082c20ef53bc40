using System.Buffers;
using System.Text;
using Microsoft.Extensions.Configuration;
using Relay.Configuration;
using Relay.Server.Auth;
using Relay.Server.Codecs;
using Relay.Server.Configuration;
using Relay.Media;
using Relay.Server.Rtp;
using Relay.Server.Rtsp;
using Relay.Server.Sdp;
using Relay.Server.Sources;

namespace Relay.Fuzz;

/// <summary>
/// What is fuzzed: every parser that reads bytes a client, a camera or an operator controls, called the way Relay calls
/// it. An exception Relay's caller handles (a <see cref="FormatException"/> from a codec parser, for example) is an
/// answer; any other exception is a finding.
/// </summary>
public static class Targets
{
    /// <summary>The targets by name.</summary>
    public static IReadOnlyDictionary<string, Action<byte[]>> All { get; } = new Dictionary<string, Action<byte[]>>
    {
        ["rtsp"] = Rtsp,
        ["rtcp"] = RtcpReports,
        ["camera"] = Camera,
        ["config"] = Config,
    };

    /// <summary>
    /// The RTSP connection's input: requests and interleaved frames parsed from one buffer as the connection does, in
    /// pieces cut where the first byte says (as TCP may deliver them); each request's Transport, Session and
    /// Authorization headers parsed as the handlers parse them.
    /// </summary>
    public static void Rtsp(byte[] data)
    {
        if (data.Length == 0)
        {
            return;
        }

        var cut = 1 + (data[0] % 64);
        var input = data.AsMemory(1);
        var pending = new List<byte>();
        for (var at = 0; at < input.Length; at += cut)
        {
            pending.AddRange(input.Span.Slice(at, Math.Min(cut, input.Length - at)));
            var buffer = new ReadOnlySequence<byte>(pending.ToArray());
            while (true)
            {
                var parsed = RtspRequestParser.TryParse(ref buffer, 16 * 1024);
                if (parsed.Status == RtspParseStatus.Request)
                {
                    var request = parsed.Request!;
                    _ = RtspTransport.ParseAll(request["Transport"]);
                    _ = request.SessionId;
                    if (request["Authorization"] is { } authorization && authorization.StartsWith("Digest ", StringComparison.OrdinalIgnoreCase))
                    {
                        _ = Digest.ParseParameters(authorization.AsSpan(7));
                    }

                    continue;
                }

                if (parsed.Status == RtspParseStatus.Error)
                {
                    return; // the connection answers the error and closes
                }

                if (parsed.Status != RtspParseStatus.Interleaved)
                {
                    break;
                }
            }

            pending = [.. buffer.ToArray()];
        }
    }

    /// <summary>RTCP from readers (receiver reports), over UDP or interleaved.</summary>
    public static void RtcpReports(byte[] data) => Rtcp.TryReadReports(data, new List<ReportBlock>(2));

    /// <summary>
    /// What a camera controls: its SDP, the caps GStreamer derives from it (sprop-parameter-sets, codec_data), H.264 and
    /// H.265 SPS, AAC AudioSpecificConfig. The first byte picks which.
    /// </summary>
    public static void Camera(byte[] data)
    {
        if (data.Length == 0)
        {
            return;
        }

        var rest = data.AsSpan(1);
        var text = Encoding.UTF8.GetString(rest);
        switch (data[0] % 5)
        {
            case 0:
                _ = SessionDescription.Parse(text);
                break;
            case 1:
                var video = new TrackInfo { Index = 0, Kind = MediaKind.Video, Codec = Codec.H264, ClockRate = 90000 };
                var audio = new TrackInfo { Index = 0, Kind = MediaKind.Audio, Codec = Codec.Aac, ClockRate = 48000, Channels = 1 };
                _ = TrackParameters.ApplyCaps(video, text);
                _ = TrackParameters.ApplyCaps(audio, text);
                break;
            case 2:
                _ = TrackParameters.WithVideoParameters(new TrackInfo { Index = 0, Kind = MediaKind.Video, Codec = Codec.H264, ClockRate = 90000 }, default, rest.ToArray(), default);
                break;
            case 3:
                _ = TrackParameters.WithVideoParameters(new TrackInfo { Index = 0, Kind = MediaKind.Video, Codec = Codec.H265, ClockRate = 90000 }, default, rest.ToArray(), default);
                break;
            default:
                _ = TrackParameters.WithAudioConfig(new TrackInfo { Index = 0, Kind = MediaKind.Audio, Codec = Codec.Aac, ClockRate = 48000, Channels = 1 }, rest.ToArray());
                break;
        }
    }

    /// <summary>An operator's configuration file (JSON, validated as a whole) and the durations in it.</summary>
    public static void Config(byte[] data)
    {
        _ = DurationParser.TryParse(Encoding.UTF8.GetString(data), out _);
        IConfigurationRoot configuration;
        try
        {
            configuration = new ConfigurationBuilder().AddJsonStream(new MemoryStream(data)).Build();
        }
        catch (FormatException)
        {
            return; // not JSON: Relay reports the file as unreadable
        }
        catch (InvalidDataException)
        {
            return;
        }
        catch (System.Text.Json.JsonException)
        {
            return;
        }

        _ = RelayConfigLoader.Load(configuration);
    }
}
