using System.Buffers.Binary;
using Relay.Media;
using Relay.Server.GStreamer;
using Relay.Server.Interop;

namespace Relay.Server.Sources;

/// <summary>
/// Copies each sample of one track's appsink into a pooled <see cref="AccessUnit"/> and posts it to the
/// session. Runs on the track's GStreamer streaming thread; allocates only the unit.
/// </summary>
/// <param name="session">Where units go.</param>
/// <param name="trackIndex">The track's index.</param>
/// <param name="codec">The track's codec.</param>
/// <param name="shift">Taken off timestamps at or above it (an encoder's known offset); zero for none.</param>
internal sealed class TrackSampleHandler(IngestSession session, int trackIndex, Codec codec, TimeSpan shift = default) : IAppSinkHandler, IDisposable
{
    private const int RtpHeaderLength = 12;

    // The last caps seen, with a reference held on them: their address cannot be reused by other caps while it is held,
    // so an unchanged address really means unchanged caps (a freed caps object's address, reused, would hide a change).
    private nint _lastCaps;

    /// <inheritdoc />
    public void OnSample(in Sample sample)
    {
        string? caps = null;
        var current = sample.CapsIdentity;
        if (current != _lastCaps)
        {
            var previous = _lastCaps;
            _lastCaps = current == 0 ? 0 : Gst.gst_mini_object_ref(current);
            if (previous != 0)
            {
                Gst.gst_mini_object_unref(previous);
            }

            caps = sample.GetCapsString();
        }

        var unit = codec == Codec.Passthrough ? CopyRtpPayload(sample) : CopyFrame(sample);
        if (unit is not null)
        {
            session.PostSample(unit, caps);
        }
    }

    /// <inheritdoc />
    public void OnEndOfStream()
    {
    }

    /// <summary>Lets go of the caps reference (the appsink is finalized; no sample comes any more).</summary>
    public void Dispose()
    {
        var last = Interlocked.Exchange(ref _lastCaps, 0);
        if (last != 0)
        {
            Gst.gst_mini_object_unref(last);
        }
    }

    private AccessUnit CopyFrame(in Sample sample)
    {
        var unit = AccessUnit.Rent(trackIndex, sample.Size, isKeyframe: !sample.IsDeltaUnit);
        sample.CopyTo(unit.GetWritableSpan());
        if (codec == Codec.H264)
        {
            // No parser element on H.264 ingest (see IngestBranches): the NAL units tell what is a keyframe.
            unit.IsKeyframe = TrackParameters.IsH264Keyframe(unit.Data.Span);
        }

        var pts = sample.Pts ?? sample.Dts ?? TimeSpan.Zero;
        var dts = sample.Dts ?? pts;
        if (shift > TimeSpan.Zero && dts >= shift)
        {
            pts -= shift;
            dts -= shift;
        }

        unit.Pts = pts;
        unit.Dts = dts;
        return unit;
    }

    private AccessUnit? CopyRtpPayload(in Sample sample)
    {
        // The appsink of a passthrough track receives whole RTP packets (RFC 3550 §5.1).
        Span<byte> header = stackalloc byte[RtpHeaderLength];
        if (sample.Size < RtpHeaderLength || sample.CopyTo(header) < RtpHeaderLength || (header[0] >> 6) != 2)
        {
            return null;
        }

        var offset = RtpHeaderLength + (4 * (header[0] & 0x0F));
        var hasPadding = (header[0] & 0x20) != 0;
        if ((header[0] & 0x10) != 0)
        {
            Span<byte> extension = stackalloc byte[4];
            if (sample.CopyTo(extension, offset) < 4)
            {
                return null;
            }

            offset += 4 + (4 * BinaryPrimitives.ReadUInt16BigEndian(extension[2..]));
        }

        var end = sample.Size;
        if (hasPadding && end > offset)
        {
            Span<byte> last = stackalloc byte[1];
            sample.CopyTo(last, end - 1);
            end -= last[0];
        }

        if (end <= offset)
        {
            return null;
        }

        var unit = AccessUnit.Rent(trackIndex, end - offset, isKeyframe: true);
        sample.CopyTo(unit.GetWritableSpan(), offset);
        unit.Marker = (header[1] & 0x80) != 0;
        unit.Pts = sample.Pts ?? TimeSpan.Zero;
        unit.Dts = unit.Pts;
        return unit;
    }
}
