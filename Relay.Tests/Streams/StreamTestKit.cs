using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Relay.Server.Streams;
using Relay.Configuration;
using Relay.Media;

namespace Relay.Tests.Streams;

/// <summary>Builds streams and synthetic access units for unit tests (no GStreamer involved).</summary>
internal static class StreamTestKit
{
    public static readonly TrackInfo Video = new() { Index = 0, Kind = MediaKind.Video, Codec = Codec.H264, ClockRate = 90000, Sps = new byte[] { 0x67, 0x42, 0xC0, 0x15 }, Pps = new byte[] { 0x68, 0xCE } };
    public static readonly TrackInfo Audio = new() { Index = 1, Kind = MediaKind.Audio, Codec = Codec.Pcmu, ClockRate = 8000, Channels = 1 };

    public static StreamHub CreateStream(FakeTimeProvider time, StreamConfig? config = null) =>
        new(config ?? new StreamConfig { Name = "cam1", Source = new Uri("test:") }, time, NullLogger.Instance);

    /// <summary>A video unit; <paramref name="frame"/> is its number at 25 fps.</summary>
    public static AccessUnit VideoUnit(int frame, bool keyframe, int size = 1000)
    {
        var unit = AccessUnit.Rent(0, size, keyframe);
        unit.GetWritableSpan()[0] = (byte)frame;
        unit.Pts = unit.Dts = TimeSpan.FromMilliseconds(frame * 40);
        return unit;
    }

    public static AccessUnit AudioUnit(int frame)
    {
        var unit = AccessUnit.Rent(1, 160, isKeyframe: true);
        unit.Pts = unit.Dts = TimeSpan.FromMilliseconds(frame * 20);
        return unit;
    }

    /// <summary>Feeds frames <paramref name="first"/>..<paramref name="last"/> with a keyframe every <paramref name="gop"/>.</summary>
    public static void FeedVideo(StreamHub stream, int first, int last, int gop = 25)
    {
        for (var i = first; i <= last; i++)
        {
            stream.OnAccessUnit(VideoUnit(i, i % gop == 0));
        }
    }
}
