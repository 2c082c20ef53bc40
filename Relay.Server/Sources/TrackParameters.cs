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
        foreach (var nal in AnnexB.Enumerate(accessUnit))
        {
            if (track.Codec == Codec.H264)
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
                        goto done; // parameter sets precede the first slice
                }
            }
            else if (nal.Length >= 2)
            {
                switch (H265.NalType(nal[0]))
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
                    case < 32:
                        goto done; // a VCL NAL unit
                }
            }
        }

    done:
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
            var (width, height) = track.Codec == Codec.H265
                ? (H265.ParseSps(sps.Span).Width, H265.ParseSps(sps.Span).Height)
                : (H264.ParseSps(sps.Span).Width, H264.ParseSps(sps.Span).Height);
            return updated with { Width = width, Height = height };
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
