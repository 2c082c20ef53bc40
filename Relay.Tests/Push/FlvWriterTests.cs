using System.Buffers.Binary;
using System.Text;
using Relay.Media;
using Relay.Server.Push;
using Relay.Tests.Hls;

namespace Relay.Tests.Push;

/// <summary>The FLV bodies an RTMP push sends (Relay writes them, no muxer), read back field by field.</summary>
public sealed class FlvWriterTests
{
    private static readonly TrackInfo Video = new()
    {
        Index = 0, Kind = MediaKind.Video, Codec = Codec.H264, ClockRate = 90000, Width = 320, Height = 240, FrameRate = 25,
        Sps = HlsMuxerTests.Sps240p, Pps = HlsMuxerTests.Pps,
    };

    private static readonly TrackInfo Audio = new()
    {
        Index = 1, Kind = MediaKind.Audio, Codec = Codec.Aac, ClockRate = 48000, Channels = 1, AudioConfig = HlsMuxerTests.Aac48kMono,
    };

    [Fact]
    public void Headers_are_metadata_then_the_avc_and_aac_sequence_headers()
    {
        var writer = new FlvWriter(Video, Audio);

        var headers = writer.Headers();

        Assert.Equal([18, 9, 8], headers.Select(h => (int)h.Type));
        var metadata = Amf.ReadMetadata(headers[0].Body);
        Assert.Equal(320.0, metadata["width"]);
        Assert.Equal(240.0, metadata["height"]);
        Assert.Equal(7.0, metadata["videocodecid"]);
        Assert.Equal(10.0, metadata["audiocodecid"]);
        Assert.Equal(48000.0, metadata["audiosamplerate"]);
        Assert.Equal(false, metadata["stereo"]);
        Assert.Equal([0x17, 0, 0, 0, 0], headers[1].Body[..5]); // keyframe AVC, sequence header, composition 0
        Assert.Equal(Relay.Server.Hls.Fmp4Track.Create(0, Video).DecoderConfigurationRecord(), headers[1].Body[5..]);
        Assert.Equal([0xAF, 0, .. HlsMuxerTests.Aac48kMono], headers[2].Body); // AAC, sequence header, the AudioSpecificConfig
    }

    [Fact]
    public void Video_units_become_length_prefixed_nal_units_without_parameter_sets_and_with_their_composition_time()
    {
        var writer = new FlvWriter(Video, Audio);
        byte[] slice = [0x65, 0xAA, 0xBB, 0xCC];
        byte[] data = [0, 0, 0, 1, .. HlsMuxerTests.Sps240p, 0, 0, 0, 1, .. HlsMuxerTests.Pps, 0, 0, 1, .. slice];

        var (keyType, key) = Write(writer, Unit(0, data, keyframe: true, dts: 1_000, pts: 1_080));
        var (_, inter) = Write(writer, Unit(0, [0, 0, 0, 1, 0x41, 0x01], keyframe: false, dts: 1_040, pts: 1_000));

        Assert.Equal(9, keyType);
        Assert.Equal([0x17, 1, 0, 0, 80, 0, 0, 0, 4, .. slice], key); // keyframe, NAL units, +80 ms, one 4-byte NAL unit
        Assert.Equal(0x27, inter[0]); // inter frame
        Assert.Equal(-40, (inter[2] << 24 | inter[3] << 16 | inter[4] << 8) >> 8); // signed 24 bits
    }

    [Fact]
    public void Audio_units_are_raw_aac()
    {
        var writer = new FlvWriter(Video, Audio);

        var (type, body) = Write(writer, Unit(1, [1, 2, 3], keyframe: true, dts: 0, pts: 0));

        Assert.Equal(8, type);
        Assert.Equal([0xAF, 1, 1, 2, 3], body);
    }

    [Fact]
    public void Without_audio_only_video_is_described()
    {
        var writer = new FlvWriter(Video, audio: null);

        var headers = writer.Headers();

        Assert.Equal([0], writer.Tracks);
        Assert.Equal([18, 9], headers.Select(h => (int)h.Type));
        Assert.DoesNotContain("audiocodecid", Amf.ReadMetadata(headers[0].Body).Keys);
    }

    private static (byte Type, byte[] Body) Write(FlvWriter writer, AccessUnit unit)
    {
        try
        {
            var body = new byte[writer.BodySize(unit)];
            var type = writer.Write(unit, body);
            return (type, body);
        }
        finally
        {
            unit.Release();
        }
    }

    private static AccessUnit Unit(int track, byte[] data, bool keyframe, int dts, int pts)
    {
        var unit = AccessUnit.Rent(track, data.Length, keyframe);
        data.CopyTo(unit.GetWritableSpan());
        unit.Dts = TimeSpan.FromMilliseconds(dts);
        unit.Pts = TimeSpan.FromMilliseconds(pts);
        return unit;
    }

    /// <summary>Reads the <c>onMetaData</c> script body: an AMF0 string and an ECMA array of numbers, booleans, strings.</summary>
    private static class Amf
    {
        public static Dictionary<string, object> ReadMetadata(byte[] body)
        {
            var at = 0;
            Assert.Equal(2, body[at++]);
            Assert.Equal("onMetaData", Name(body, ref at));
            Assert.Equal(8, body[at++]);
            var count = BinaryPrimitives.ReadInt32BigEndian(body.AsSpan(at));
            at += 4;
            var values = new Dictionary<string, object>();
            for (var i = 0; i < count; i++)
            {
                var name = Name(body, ref at);
                values[name] = body[at++] switch
                {
                    0 => Number(body, ref at),
                    1 => body[at++] != 0,
                    2 => Name(body, ref at),
                    var type => throw new InvalidDataException($"AMF type {type}"),
                };
            }

            Assert.Equal([0, 0, 9], body[at..]);
            return values;
        }

        private static double Number(byte[] body, ref int at)
        {
            var value = BinaryPrimitives.ReadDoubleBigEndian(body.AsSpan(at));
            at += 8;
            return value;
        }

        private static string Name(byte[] body, ref int at)
        {
            var length = body[at] << 8 | body[at + 1];
            var name = Encoding.UTF8.GetString(body, at + 2, length);
            at += 2 + length;
            return name;
        }
    }
}
