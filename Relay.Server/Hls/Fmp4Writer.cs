using Relay.Media;

namespace Relay.Server.Hls;

/// <summary>One sample of a fragment, in its track's timescale. Borrows <see cref="Unit"/>.</summary>
/// <param name="Unit">The access unit.</param>
/// <param name="Decode">The decode time.</param>
/// <param name="Duration">The time until the next sample.</param>
/// <param name="CompositionOffset">Presentation time minus decode time.</param>
/// <param name="IsSync">Whether a decoder can start here.</param>
internal readonly record struct Fmp4Sample(AccessUnit Unit, long Decode, int Duration, int CompositionOffset, bool IsSync);

/// <summary>
/// Writes CMAF-style fragmented MP4 (ISO/IEC 14496-12, ISO/IEC 23000-19): an initialization segment
/// (<c>ftyp</c> + <c>moov</c> with <c>mvex</c>) and media fragments (<c>moof</c> + <c>mdat</c>), each fragment one
/// HLS partial segment.
/// </summary>
internal static class Fmp4Writer
{
    // trun flags: data-offset, sample-duration, sample-size, sample-flags and sample-composition-time-offset present.
    private const uint TrunFlags = 0x000001 | 0x000100 | 0x000200 | 0x000400 | 0x000800;

    // Sample flags (§8.8.3.1): sample_depends_on = 2 (independent) for sync samples; 1 plus is_non_sync for the rest.
    private const uint SyncSample = 0x02000000;
    private const uint NonSyncSample = 0x01010000;

    /// <summary>Writes the initialization segment for <paramref name="tracks"/>.</summary>
    public static ReadOnlyMemory<byte> WriteInit(IReadOnlyList<Fmp4Track> tracks)
    {
        var w = new BoxWriter(2048);
        w.Begin("ftyp").FourCc("iso6").U32(0).FourCc("iso6").FourCc("cmfc").FourCc("iso5").FourCc("mp41").End();
        w.Begin("moov");
        w.BeginFull("mvhd", 0, 0).U32(0).U32(0).U32(1000).U32(0).U32(0x00010000).U16(0x0100).U16(0).Zeros(8);
        Fmp4Track.WriteMatrix(w);
        w.Zeros(24).U32((uint)(tracks.Count + 1)).End();
        foreach (var track in tracks)
        {
            track.WriteTrak(w);
        }

        w.Begin("mvex");
        foreach (var track in tracks)
        {
            w.BeginFull("trex", 0, 0).U32((uint)track.Id).U32(1).U32(0).U32(0).U32(0).End();
        }

        w.End(); // mvex
        w.End(); // moov
        return w.Detach();
    }

    /// <summary>
    /// Writes one fragment: a <c>moof</c> with a <c>traf</c> per track that has samples, then one <c>mdat</c> holding
    /// the tracks' samples in the same order.
    /// </summary>
    /// <param name="sequence">The fragment's sequence number (mfhd), increasing from 1.</param>
    /// <param name="tracks">The tracks, each with its samples in decode order (tracks without samples are left out).</param>
    public static ReadOnlyMemory<byte> WriteFragment(uint sequence, IReadOnlyList<(Fmp4Track Track, IReadOnlyList<Fmp4Sample> Samples)> tracks)
    {
        var sizes = new int[tracks.Count][];
        var mediaBytes = 0;
        for (var t = 0; t < tracks.Count; t++)
        {
            var (track, samples) = tracks[t];
            sizes[t] = new int[samples.Count];
            for (var s = 0; s < samples.Count; s++)
            {
                sizes[t][s] = track.SampleSize(samples[s].Unit);
                mediaBytes += sizes[t][s];
            }
        }

        var w = new BoxWriter(256 + mediaBytes + (tracks.Sum(t => t.Samples.Count) * 16) + (tracks.Count * 64));
        w.Begin("moof");
        w.BeginFull("mfhd", 0, 0).U32(sequence).End();
        var dataOffsetFields = new int[tracks.Count];
        for (var t = 0; t < tracks.Count; t++)
        {
            var (track, samples) = tracks[t];
            if (samples.Count == 0)
            {
                continue;
            }

            w.Begin("traf");
            w.BeginFull("tfhd", 0, 0x020000 /* default-base-is-moof */).U32((uint)track.Id).End();
            w.BeginFull("tfdt", 1, 0).U64((ulong)Math.Max(0, samples[0].Decode)).End();
            w.BeginFull("trun", 1, TrunFlags).U32((uint)samples.Count);
            dataOffsetFields[t] = w.Length;
            w.I32(0);
            for (var s = 0; s < samples.Count; s++)
            {
                var sample = samples[s];
                w.U32((uint)Math.Max(0, sample.Duration)).U32((uint)sizes[t][s]).U32(sample.IsSync ? SyncSample : NonSyncSample).I32(sample.CompositionOffset);
            }

            w.End(); // trun
            w.End(); // traf
        }

        w.End(); // moof
        var moofSize = w.Length;
        w.U32((uint)(8 + mediaBytes)).FourCc("mdat");
        var offset = moofSize + 8;
        for (var t = 0; t < tracks.Count; t++)
        {
            var (track, samples) = tracks[t];
            if (samples.Count == 0)
            {
                continue;
            }

            // data_offset is relative to the start of the moof (default-base-is-moof).
            w.PatchI32(dataOffsetFields[t], offset);
            for (var s = 0; s < samples.Count; s++)
            {
                track.WriteSample(samples[s].Unit, w.Reserve(sizes[t][s]));
                offset += sizes[t][s];
            }
        }

        return w.Detach();
    }
}
