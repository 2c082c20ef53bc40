using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using Relay.Media;
using Relay.Server.Codecs;

namespace Relay.Server.Hls;

/// <summary>
/// One track of an fMP4 (CMAF) presentation: its id, timescale, sample entry (<c>avc1</c>+<c>avcC</c>,
/// <c>hvc1</c>+<c>hvcC</c>, <c>mp4a</c>+<c>esds</c> or <c>Opus</c>+<c>dOps</c>) and how its access units become
/// samples. Video access units arrive as Annex B; samples are length-prefixed NAL units (ISO/IEC 14496-15), with
/// the parameter sets in the sample entry rather than in band.
/// </summary>
internal sealed class Fmp4Track
{
    private const int LengthSize = 4;

    private Fmp4Track(int id, TrackInfo info, int timescale, string codecs)
    {
        Id = id;
        Info = info;
        Timescale = timescale;
        Codecs = codecs;
    }

    /// <summary>Gets the track_ID (1-based).</summary>
    public int Id { get; }

    /// <summary>Gets the stream track this one carries.</summary>
    public TrackInfo Info { get; }

    /// <summary>Gets the media timescale: 90 kHz for video, the sample rate for audio.</summary>
    public int Timescale { get; }

    /// <summary>Gets the RFC 6381 codecs parameter, for example <c>avc1.64001f</c> or <c>mp4a.40.2</c>.</summary>
    public string Codecs { get; }

    /// <summary>Gets a value indicating whether this is a video track.</summary>
    public bool IsVideo => Info.Kind == MediaKind.Video;

    /// <summary>Tells why a track cannot go into fMP4, or null when it can.</summary>
    public static string? Unsupported(TrackInfo track) => track.Codec switch
    {
        Codec.H264 or Codec.H265 when !track.HasDecoderConfiguration => "its parameter sets are not known yet",
        Codec.H264 or Codec.H265 => null,
        Codec.Aac when track.AudioConfig.Length < 2 => "its AudioSpecificConfig is not known",
        Codec.Aac or Codec.Opus => null,
        Codec.Pcmu or Codec.Pcma => "G.711 audio is not carried in HLS (fMP4 players do not decode it)",
        _ => $"{track.EncodingName ?? track.Codec.ToString()} is not carried in HLS",
    };

    /// <summary>Describes <paramref name="info"/> as fMP4 track <paramref name="id"/>.</summary>
    /// <exception cref="FormatException">The track's parameters cannot be parsed.</exception>
    public static Fmp4Track Create(int id, TrackInfo info)
    {
        if (Unsupported(info) is { } reason)
        {
            throw new FormatException($"Track {info} cannot be muxed: {reason}.");
        }

        return info.Codec switch
        {
            Codec.H264 => new Fmp4Track(id, info, 90000, H264CodecString(info.Sps.Span)),
            Codec.H265 => new Fmp4Track(id, info, 90000, H265CodecString(H265.ParseSps(info.Sps.Span))),
            Codec.Aac => new Fmp4Track(id, info, AudioSpecificConfig.Parse(info.AudioConfig.Span).SampleRate, $"mp4a.40.{AudioSpecificConfig.Parse(info.AudioConfig.Span).ObjectType}"),
            _ => new Fmp4Track(id, info, 48000, "opus"),
        };
    }

    /// <summary>Converts a time on the stream timeline to this track's timescale.</summary>
    public long ToTimescale(TimeSpan time) => (long)((Int128)time.Ticks * Timescale / TimeSpan.TicksPerSecond);

    /// <summary>Gets the size of <paramref name="unit"/> as a sample.</summary>
    public int SampleSize(AccessUnit unit)
    {
        if (!IsVideo)
        {
            return unit.Length;
        }

        var size = 0;
        foreach (var nal in AnnexB.Enumerate(unit.Data.Span))
        {
            if (!IsOutOfBand(nal))
            {
                size += LengthSize + nal.Length;
            }
        }

        return size;
    }

    /// <summary>Writes <paramref name="unit"/> as a sample into <paramref name="destination"/> (exactly <see cref="SampleSize"/> bytes).</summary>
    public void WriteSample(AccessUnit unit, Span<byte> destination)
    {
        if (!IsVideo)
        {
            unit.Data.Span.CopyTo(destination);
            return;
        }

        var at = 0;
        foreach (var nal in AnnexB.Enumerate(unit.Data.Span))
        {
            if (!IsOutOfBand(nal))
            {
                BinaryPrimitives.WriteInt32BigEndian(destination[at..], nal.Length);
                nal.CopyTo(destination[(at + LengthSize)..]);
                at += LengthSize + nal.Length;
            }
        }
    }

    /// <summary>Writes the <c>trak</c> box.</summary>
    public void WriteTrak(BoxWriter w)
    {
        var (width, height) = (Info.Width ?? 0, Info.Height ?? 0);
        w.Begin("trak");
        w.BeginFull("tkhd", 0, 3).U32(0).U32(0).U32((uint)Id).U32(0).U32(0).Zeros(8).U16(0).U16(0)
            .U16(IsVideo ? 0 : 0x0100).U16(0);
        WriteMatrix(w);
        w.U32((uint)width << 16).U32((uint)height << 16).End();
        w.Begin("mdia");
        w.BeginFull("mdhd", 0, 0).U32(0).U32(0).U32((uint)Timescale).U32(0).U16(0x55C4 /* "und" */).U16(0).End();
        w.BeginFull("hdlr", 0, 0).U32(0).FourCc(IsVideo ? "vide" : "soun").Zeros(12).Bytes(Encoding.ASCII.GetBytes(IsVideo ? "Relay video\0" : "Relay audio\0")).End();
        w.Begin("minf");
        if (IsVideo)
        {
            w.BeginFull("vmhd", 0, 1).U16(0).Zeros(6).End();
        }
        else
        {
            w.BeginFull("smhd", 0, 0).U16(0).U16(0).End();
        }

        w.Begin("dinf").BeginFull("dref", 0, 0).U32(1).BeginFull("url ", 0, 1).End().End().End();
        w.Begin("stbl");
        w.BeginFull("stsd", 0, 0).U32(1);
        WriteSampleEntry(w);
        w.End();
        w.BeginFull("stts", 0, 0).U32(0).End();
        w.BeginFull("stsc", 0, 0).U32(0).End();
        w.BeginFull("stsz", 0, 0).U32(0).U32(0).End();
        w.BeginFull("stco", 0, 0).U32(0).End();
        w.End(); // stbl
        w.End(); // minf
        w.End(); // mdia
        w.End(); // trak
    }

    /// <summary>Writes the identity transformation matrix of mvhd and tkhd.</summary>
    public static void WriteMatrix(BoxWriter w) =>
        w.U32(0x00010000).U32(0).U32(0).U32(0).U32(0x00010000).U32(0).U32(0).U32(0).U32(0x40000000);

    private bool IsOutOfBand(ReadOnlySpan<byte> nal) => Info.Codec == Codec.H265
        ? nal.Length < 2 || H265.NalType(nal[0]) is H265.NalVps or H265.NalSps or H265.NalPps or H265.NalAud
        : H264.NalType(nal[0]) is H264.NalSps or H264.NalPps or H264.NalAud;

    private void WriteSampleEntry(BoxWriter w)
    {
        switch (Info.Codec)
        {
            case Codec.H264:
                BeginVisualEntry(w, "avc1");
                WriteAvcC(w);
                w.End();
                break;
            case Codec.H265:
                BeginVisualEntry(w, "hvc1");
                WriteHvcC(w);
                w.End();
                break;
            case Codec.Aac:
                var asc = AudioSpecificConfig.Parse(Info.AudioConfig.Span);
                BeginAudioEntry(w, "mp4a", asc.Channels, asc.SampleRate);
                WriteEsds(w, Info.AudioConfig.Span);
                w.End();
                break;
            default:
                var channels = Math.Max(1, Info.Channels);
                BeginAudioEntry(w, "Opus", channels, 48000);

                // OpusSpecificBox ("Encapsulation of Opus in ISO Base Media File Format" §4.3.2). RTP carries no
                // OpusHead, so pre-skip is unknown (0) and the mapping family is 0 (mono or stereo).
                w.Begin("dOps").U8(0).U8(channels).U16(0).U32(48000).U16(0).U8(0).End();
                w.End();
                break;
        }
    }

    private void BeginVisualEntry(BoxWriter w, string type)
    {
        // VisualSampleEntry, ISO/IEC 14496-12 §12.1.3.
        w.Begin(type).Zeros(6).U16(1).U16(0).U16(0).Zeros(12)
            .U16(Info.Width ?? 0).U16(Info.Height ?? 0).U32(0x00480000).U32(0x00480000).U32(0).U16(1).Zeros(32).U16(0x0018).U16(0xFFFF);
    }

    private static void BeginAudioEntry(BoxWriter w, string type, int channels, int sampleRate)
    {
        // AudioSampleEntry, ISO/IEC 14496-12 §12.2.3; the rate is 16.16 fixed point (0 when it does not fit).
        w.Begin(type).Zeros(6).U16(1).Zeros(8).U16(channels).U16(16).U16(0).U16(0).U32(sampleRate <= 0xFFFF ? (uint)sampleRate << 16 : 0);
    }

    /// <summary>
    /// Gets the video decoder configuration record (the body of <c>avcC</c> or <c>hvcC</c>, ISO/IEC 14496-15): what FLV
    /// and MP4 carry as codec data for the length-prefixed samples <see cref="WriteSample"/> writes.
    /// </summary>
    public byte[] DecoderConfigurationRecord()
    {
        var w = new BoxWriter(256);
        if (Info.Codec == Codec.H265)
        {
            WriteHvcC(w);
        }
        else
        {
            WriteAvcC(w);
        }

        return w.Detach().Span[8..].ToArray(); // without the box header (size, type)
    }

    private void WriteAvcC(BoxWriter w)
    {
        // AVCDecoderConfigurationRecord, ISO/IEC 14496-15 §5.3.3.1.
        var sps = Info.Sps.Span;
        var pps = Info.Pps.Span;
        w.Begin("avcC").U8(1).U8(sps[1]).U8(sps[2]).U8(sps[3]).U8(0xFC | (LengthSize - 1))
            .U8(0xE0 | 1).U16(sps.Length).Bytes(sps)
            .U8(1).U16(pps.Length).Bytes(pps);
        if (H264.HasChromaFormat(sps[1]))
        {
            var parsed = H264.ParseSps(sps);
            w.U8(0xFC | parsed.ChromaFormatIdc).U8(0xF8 | (parsed.BitDepthLuma - 8)).U8(0xF8 | (parsed.BitDepthChroma - 8)).U8(0);
        }

        w.End();
    }

    private void WriteHvcC(BoxWriter w)
    {
        // HEVCDecoderConfigurationRecord, ISO/IEC 14496-15 §8.3.3.1.
        var sps = H265.ParseSps(Info.Sps.Span);
        w.Begin("hvcC").U8(1)
            .U8((sps.ProfileSpace << 6) | (sps.Tier << 5) | sps.ProfileIdc)
            .U32(sps.CompatibilityFlags)
            .U16((int)(sps.ConstraintFlags >> 32)).U32((uint)sps.ConstraintFlags)
            .U8(sps.LevelIdc)
            .U16(0xF000) // min_spatial_segmentation_idc 0
            .U8(0xFC) // parallelismType unknown
            .U8(0xFC | sps.ChromaFormatIdc)
            .U8(0xF8 | (sps.BitDepthLuma - 8))
            .U8(0xF8 | (sps.BitDepthChroma - 8))
            .U16(0) // avgFrameRate unknown
            .U8((1 << 3) | (1 << 2) | (LengthSize - 1)) // one temporal layer, nested, 4-byte lengths
            .U8(3);
        foreach (var (type, nal) in new[] { (H265.NalVps, Info.Vps), (H265.NalSps, Info.Sps), (H265.NalPps, Info.Pps) })
        {
            w.U8(0x80 | type).U16(1).U16(nal.Length).Bytes(nal.Span);
        }

        w.End();
    }

    private static void WriteEsds(BoxWriter w, ReadOnlySpan<byte> audioSpecificConfig)
    {
        // ES_Descriptor with DecoderConfigDescriptor (MPEG-4 audio) and SLConfigDescriptor, ISO/IEC 14496-1 §7.2.6.
        var decoderSpecific = 2 + audioSpecificConfig.Length;
        var decoderConfig = 13 + decoderSpecific;
        var es = 3 + 2 + decoderConfig + 3;
        w.BeginFull("esds", 0, 0)
            .U8(0x03).U8(es).U16(0).U8(0)
            .U8(0x04).U8(decoderConfig).U8(0x40).U8(0x15).U24(0).U32(0).U32(0)
            .U8(0x05).U8(audioSpecificConfig.Length).Bytes(audioSpecificConfig)
            .U8(0x06).U8(1).U8(0x02)
            .End();
    }

    private static string H264CodecString(ReadOnlySpan<byte> sps) =>
        string.Create(CultureInfo.InvariantCulture, $"avc1.{sps[1]:x2}{sps[2]:x2}{sps[3]:x2}");

    private static string H265CodecString(H265.SequenceParameterSet sps)
    {
        // ISO/IEC 14496-15 Annex E.3: profile space and profile, reversed compatibility flags, tier and level,
        // then the constraint bytes without trailing zero bytes.
        var reversed = 0u;
        for (var i = 0; i < 32; i++)
        {
            reversed |= ((sps.CompatibilityFlags >> i) & 1) << (31 - i);
        }

        var text = new StringBuilder("hvc1.");
        text.Append(sps.ProfileSpace switch { 1 => "A", 2 => "B", 3 => "C", _ => string.Empty })
            .Append(sps.ProfileIdc.ToString(CultureInfo.InvariantCulture))
            .Append('.').Append(reversed.ToString("X", CultureInfo.InvariantCulture))
            .Append('.').Append(sps.Tier == 0 ? 'L' : 'H').Append(sps.LevelIdc.ToString(CultureInfo.InvariantCulture));
        var constraints = new byte[6];
        for (var i = 0; i < 6; i++)
        {
            constraints[i] = (byte)(sps.ConstraintFlags >> (40 - (8 * i)));
        }

        var last = Array.FindLastIndex(constraints, b => b != 0);
        for (var i = 0; i <= last; i++)
        {
            text.Append('.').Append(constraints[i].ToString("X", CultureInfo.InvariantCulture));
        }

        return text.ToString();
    }
}
