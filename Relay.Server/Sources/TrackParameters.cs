using Relay.Media;
using Relay.Server.Codecs;
using Relay.Server.GStreamer;

namespace Relay.Server.Sources;

/// <summary>
/// Keeps a track's description up to date from what arrives in-band: parameter sets before keyframes and the
/// parser's caps. Each method returns the same instance when nothing changed, so callers compare references.
/// </summary>
internal static class TrackParameters
{
    /// <summary>Applies the parameter sets found in a keyframe access unit.</summary>
    public static TrackInfo ApplyInBand(TrackInfo track, ReadOnlySpan<byte> accessUnit)
    {
        if (track.Codec is not (Codec.H264 or Codec.H265))
        {
            return track;
        }

        ReadOnlySpan<byte> vps = default, sps = default, pps = default;
        if (track.Codec == Codec.H264)
        {
            FindH264ParameterSets(accessUnit, out sps, out pps);
        }
        else
        {
            foreach (var nal in AnnexB.Enumerate(accessUnit))
            {
                if (nal.Length < 2)
                {
                    continue;
                }

                var type = H265.NalType(nal[0]);
                if (type < 32)
                {
                    break; // a VCL NAL unit: parameter sets precede it
                }

                switch (type)
                {
                    case H265.NalVps when vps.IsEmpty:
                        vps = nal;
                        break;
                    case H265.NalSps when sps.IsEmpty:
                        sps = nal;
                        break;
                    case H265.NalPps when pps.IsEmpty:
                        pps = nal;
                        break;
                }
            }
        }

        var changed = (!sps.IsEmpty && !sps.SequenceEqual(track.Sps.Span))
            || (!pps.IsEmpty && !pps.SequenceEqual(track.Pps.Span))
            || (!vps.IsEmpty && !vps.SequenceEqual(track.Vps.Span));
        return changed
            ? WithVideoParameters(
                track,
                vps.IsEmpty ? track.Vps : vps.ToArray(),
                sps.IsEmpty ? track.Sps : sps.ToArray(),
                pps.IsEmpty ? track.Pps : pps.ToArray())
            : track;
    }

    /// <summary>
    /// Makes a keyframe access unit self-contained: when it lacks the parameter sets (a camera that sends them only
    /// in the SDP, or only once) and the track knows them, returns a new unit with them in front (the caller releases
    /// the old one); otherwise null. What a parser's config-interval=-1 did, without the parser's per-stream state.
    /// </summary>
    public static AccessUnit? WithParameterSets(TrackInfo track, AccessUnit unit)
    {
        if (!unit.IsKeyframe || track.Codec != Codec.H264 || track.Sps.IsEmpty || track.Pps.IsEmpty)
        {
            return null;
        }

        FindH264ParameterSets(unit.Data.Span, out var inBandSps, out var inBandPps);
        if (!inBandSps.IsEmpty && !inBandPps.IsEmpty)
        {
            return null;
        }

        ReadOnlySpan<byte> startCode = [0, 0, 0, 1];
        var sps = track.Sps.Span;
        var pps = track.Pps.Span;
        var data = unit.Data.Span;
        var complete = AccessUnit.Rent(unit.TrackIndex, (2 * startCode.Length) + sps.Length + pps.Length + data.Length, isKeyframe: true);
        var target = complete.GetWritableSpan();
        startCode.CopyTo(target);
        sps.CopyTo(target[4..]);
        startCode.CopyTo(target[(4 + sps.Length)..]);
        pps.CopyTo(target[(8 + sps.Length)..]);
        data.CopyTo(target[(8 + sps.Length + pps.Length)..]);
        complete.Pts = unit.Pts;
        complete.Dts = unit.Dts;
        complete.Marker = unit.Marker;
        return complete;
    }

    /// <summary>Finds the first SPS and PPS an H.264 access unit carries before its first slice (empty when absent).</summary>
    private static void FindH264ParameterSets(ReadOnlySpan<byte> accessUnit, out ReadOnlySpan<byte> sps, out ReadOnlySpan<byte> pps)
    {
        sps = default;
        pps = default;
        foreach (var nal in AnnexB.Enumerate(accessUnit))
        {
            switch (H264.NalType(nal[0]))
            {
                case H264.NalSps when sps.IsEmpty:
                    sps = nal;
                    break;
                case H264.NalPps when pps.IsEmpty:
                    pps = nal;
                    break;
                case H264.NalIdr or H264.NalSlice:
                    return; // parameter sets precede the first slice
            }
        }
    }

    /// <summary>
    /// Tells whether an H.264 access unit (Annex B) is a keyframe: its first slice is an IDR slice, or an SEI before
    /// it marks a recovery point (an intra-refresh encoder's entry point; h264parse counts those as keyframes too).
    /// </summary>
    public static bool IsH264Keyframe(ReadOnlySpan<byte> accessUnit)
    {
        var first = FirstH264Slice(accessUnit, out var recoveryPoint);
        return first == H264.NalIdr || (first != 0 && recoveryPoint);
    }

    /// <summary>
    /// Tells whether an H.264 access unit's first slice is an IDR slice: a picture that decodes alone. A recovery
    /// point needs the frames after it decoded too before its picture is whole.
    /// </summary>
    public static bool IsH264Idr(ReadOnlySpan<byte> accessUnit) => FirstH264Slice(accessUnit, out _) == H264.NalIdr;

    // The NAL unit type of an access unit's first slice (1-5; 0 for none) and whether an SEI before it marks a recovery point.
    private static int FirstH264Slice(ReadOnlySpan<byte> accessUnit, out bool recoveryPoint)
    {
        recoveryPoint = false;
        foreach (var nal in AnnexB.Enumerate(accessUnit))
        {
            var type = H264.NalType(nal[0]);
            if (type is >= H264.NalSlice and <= H264.NalIdr) // a slice or slice data partition
            {
                return type;
            }

            recoveryPoint |= type == H264.NalSei && H264.HasRecoveryPoint(nal);
        }

        return 0;
    }

    /// <summary>Applies the caps of a parsed track (picture size, frame rate, AAC codec_data, rate, channels).</summary>
    public static TrackInfo ApplyCaps(TrackInfo track, string caps)
    {
        var s = CapsStructure.Parse(caps);
        var updated = track;
        switch (track.Kind)
        {
            case MediaKind.Video:
                var fps = s.GetFraction("framerate");
                if (fps is not null && fps != track.FrameRate)
                {
                    updated = updated with { FrameRate = fps };
                }

                if (track.Sps.IsEmpty && s.GetInt("width") is { } w && s.GetInt("height") is { } h && (w != track.Width || h != track.Height))
                {
                    updated = updated with { Width = w, Height = h };
                }

                break;
            case MediaKind.Audio:
                if (track.Codec == Codec.Aac && s.GetBuffer("codec_data") is { Length: >= 2 } config && !config.AsSpan().SequenceEqual(track.AudioConfig.Span))
                {
                    updated = WithAudioConfig(updated, config);
                }
                else if (s.GetInt("rate") is { } rate && s.GetInt("channels") is { } channels
                    && track.Codec is Codec.Pcma or Codec.Pcmu && (rate != track.ClockRate || channels != track.Channels))
                {
                    updated = updated with { ClockRate = rate, Channels = channels };
                }

                break;
        }

        return updated;
    }

    /// <summary>Sets H.264/H.265 parameter sets and the picture size the SPS gives.</summary>
    public static TrackInfo WithVideoParameters(TrackInfo track, ReadOnlyMemory<byte> vps, ReadOnlyMemory<byte> sps, ReadOnlyMemory<byte> pps)
    {
        var updated = track with { Vps = vps, Sps = sps, Pps = pps };
        if (sps.IsEmpty)
        {
            return updated;
        }

        try
        {
            if (track.Codec == Codec.H265)
            {
                var h265 = H265.ParseSps(sps.Span);
                return updated with { Width = h265.Width, Height = h265.Height };
            }

            // H.264 is ingested without a parser element, so a frame rate the camera did not declare (SDP a=framerate)
            // comes from the SPS's timing information.
            var h264 = H264.ParseSps(sps.Span);
            return updated with { Width = h264.Width, Height = h264.Height, FrameRate = track.FrameRate ?? h264.FrameRate };
        }
        catch (FormatException)
        {
            // A camera's odd SPS must not stop relaying; the size stays unknown.
            return updated;
        }
    }

    /// <summary>Sets the AAC AudioSpecificConfig and the rate and channels it gives.</summary>
    public static TrackInfo WithAudioConfig(TrackInfo track, byte[] config)
    {
        try
        {
            var asc = AudioSpecificConfig.Parse(config);
            return track with { AudioConfig = config, ClockRate = asc.SampleRate, Channels = asc.Channels };
        }
        catch (FormatException)
        {
            return track with { AudioConfig = config };
        }
    }
}
