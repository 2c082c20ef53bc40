using System.Buffers.Binary;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Relay.Server.Streams;
using Relay.Configuration;
using Relay.Media;
using Relay.Server.Hls;
using Relay.Tests.Fixtures;

namespace Relay.Tests.Hls;

/// <summary>The LL-HLS muxer on synthetic access units (no GStreamer): segments, parts, outages, parameter changes, blocking reload.</summary>
public sealed class HlsMuxerTests : IDisposable
{
    internal static readonly byte[] Sps240p = Convert.FromHexString("6742c015d90141fb016a0c0c0d4a000003000200000300791e2c5c90");
    internal static readonly byte[] Sps1080p = Convert.FromHexString("67640028acd940780227e5c05a808080a0000003002000000791e30632c0");
    internal static readonly byte[] Pps = Convert.FromHexString("68ce3c80");
    internal static readonly byte[] Aac48kMono = [0x11, 0x88];

    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 12, 1, 12, 0, 0, TimeSpan.Zero));
    private readonly StreamHub _stream;
    private TrackInfo _video = new() { Index = 0, Kind = MediaKind.Video, Codec = Codec.H264, ClockRate = 90000, Width = 320, Height = 240, FrameRate = 25, Sps = Sps240p, Pps = Pps };
    private int _frame;
    private TimeSpan _sourceClock;

    public HlsMuxerTests()
    {
        _stream = new StreamHub(new StreamConfig { Name = "cam1", Source = new Uri("test:") }, _time, NullLogger.Instance);
    }

    public void Dispose() => _stream.Dispose();

    [Fact]
    public async Task Segments_end_at_keyframes_and_parts_are_whole_frames_within_the_part_target()
    {
        _stream.OnEpochStarted([_video]);
        using var muxer = Start();
        Feed(seconds: 4.2);

        var playlist = await PlaylistAsync(muxer);

        Assert.Empty(playlist.Violations());
        Assert.Equal(1, playlist.TargetDuration);
        Assert.Equal(0.22, playlist.PartTarget); // five 40 ms frames, and half a frame of room for jitter
        Assert.True(playlist.CanBlockReload);
        var complete = playlist.Segments.Where(s => s.Uri is not null).ToList();
        Assert.Equal(4, complete.Count);
        Assert.All(complete, s => Assert.Equal(1.0, s.Duration));
        var withParts = complete.Where(s => s.Parts.Count > 0).ToList(); // parts of older segments leave the playlist
        Assert.InRange(withParts.Count, 2, 3);
        Assert.All(withParts, s => Assert.Equal([0.2, 0.2, 0.2, 0.2, 0.2], s.Parts.Select(p => p.Duration)));
        Assert.All(withParts, s => Assert.Equal([true, false, false, false, false], s.Parts.Select(p => p.Independent)));
        Assert.NotNull(playlist.PreloadHint);
    }

    [Fact]
    public async Task Jittery_camera_timestamps_never_make_a_part_longer_than_the_part_target()
    {
        _stream.OnEpochStarted([_video]);
        using var muxer = Start();
        Feed(seconds: 6.2, jitterMs: 12);

        var playlist = await PlaylistAsync(muxer);

        // Whole frames that wander by 12 ms cannot always also make 85 % of the target (a best effort); they never
        // make a part longer than PART-TARGET, and nothing else is broken.
        var violations = playlist.Violations(partFloor: false);
        Assert.True(violations.Count == 0, string.Join("; ", violations));
        Assert.All(playlist.Segments.SelectMany(s => s.Parts), p => Assert.InRange(p.Duration, 0.04, playlist.PartTarget!.Value));
    }

    [Fact]
    public async Task Fragments_carry_length_prefixed_samples_with_continuous_decode_times()
    {
        _stream.OnEpochStarted([_video]);
        using var muxer = Start();
        Feed(seconds: 2.2);
        var playlist = await PlaylistAsync(muxer);

        var init = Mp4Box.Parse(muxer.GetInit(1)!.Value.ToArray());
        var avcC = Mp4Box.All(init, "stsd").Single().Payload.ToArray();
        Assert.True(avcC.AsSpan().IndexOf(Sps240p) > 0, "the SPS is in the sample entry");
        Assert.Equal(90000u, Mp4Box.Find(init, "moov/trak/mdia/mdhd")!.U32(12));

        long expectedDecode = -1;
        var samples = 0;
        foreach (var part in playlist.Segments.SelectMany(s => s.Parts))
        {
            var resource = muxer.Names.Parse(part.Uri)!.Value;
            var data = (await muxer.GetPartAsync(resource.Number, resource.Index, CancellationToken.None))!.Value.ToArray();
            var boxes = Mp4Box.Parse(data);
            Assert.Equal(["moof", "mdat"], boxes.Select(b => b.Type));
            var decode = (long)Mp4Box.Find(boxes, "moof/traf/tfdt")!.U64(4);
            Assert.True(expectedDecode < 0 || decode == expectedDecode, $"{part.Uri}: tfdt {decode}, expected {expectedDecode}");
            var trun = Mp4Box.Find(boxes, "moof/traf/trun")!;
            var count = (int)trun.U32(4);
            var offset = (int)trun.U32(8);
            var durations = 0L;
            for (var i = 0; i < count; i++)
            {
                var entry = 12 + (16 * i);
                durations += trun.U32(entry);
                var size = (int)trun.U32(entry + 4);

                // Each sample is one length-prefixed slice: parameter sets went to the sample entry.
                var sample = data.AsSpan(boxes[0].Offset + offset, size);
                Assert.Equal(size - 4, BinaryPrimitives.ReadInt32BigEndian(sample));
                Assert.True(sample[4] is 0x65 or 0x41, $"NAL header {sample[4]:x2}");
                offset += size;
                samples++;
            }

            Assert.Equal(3600 * count, durations);
            expectedDecode = decode + durations;
        }

        Assert.True(samples >= 50, $"{samples} samples");
    }

    [Fact]
    public async Task A_camera_outage_pauses_media_time_and_keeps_the_wall_clock()
    {
        _stream.OnEpochStarted([_video]);
        using var muxer = Start();
        Feed(seconds: 2.0);
        _stream.OnEpochEnded();
        _time.Advance(TimeSpan.FromSeconds(5));
        _stream.OnEpochStarted([_video]);
        _sourceClock = TimeSpan.Zero; // the camera's clock restarted
        _frame = 0;
        Feed(seconds: 2.2);

        var playlist = await PlaylistAsync(muxer);

        Assert.Empty(playlist.Violations());
        Assert.DoesNotContain(playlist.Segments, s => s.Discontinuity);
        var dates = playlist.Segments.Select(s => s.ProgramDateTime!.Value).ToList();
        var gaps = dates.Zip(dates.Skip(1), (a, b) => (b - a).TotalSeconds).ToList();
        Assert.Contains(gaps, g => g is > 5.5 and < 6.5); // the wall clock jumped over the outage...
        var decodes = new List<(long Start, long End)>();
        foreach (var segment in playlist.Segments.Where(s => s.Uri is not null))
        {
            var sequence = muxer.Names.Parse(segment.Uri!)!.Value.Number;
            var parts = (await muxer.GetSegmentAsync(sequence, CancellationToken.None))!;
            var first = Mp4Box.Parse(parts[0].ToArray());
            decodes.Add(((long)Mp4Box.Find(first, "moof/traf/tfdt")!.U64(4), (long)(Mp4Box.Find(first, "moof/traf/tfdt")!.U64(4) + (segment.Duration!.Value * 90000))));
        }

        // ...while media time ran on without a hole, so players see a pause, not a gap to skip.
        Assert.All(decodes.Zip(decodes.Skip(1)), p => Assert.InRange(p.Second.Start - p.First.End, -1, 1));
    }

    [Fact]
    public async Task New_parameter_sets_start_a_new_initialization_segment_after_a_discontinuity()
    {
        _stream.OnEpochStarted([_video]);
        using var muxer = Start();
        Feed(seconds: 2.0);
        _video = _video with { Sps = Sps1080p, Width = 1920, Height = 1080 };
        _stream.OnTrackChanged(_video);
        Feed(seconds: 2.2);

        var playlist = await PlaylistAsync(muxer);

        Assert.Empty(playlist.Violations());
        var changed = Assert.Single(playlist.Segments, s => s.Discontinuity);
        Assert.NotEqual(playlist.Segments[0].Map, changed.Map);
        var init = Mp4Box.Parse(muxer.GetInit(2)!.Value.ToArray());
        Assert.True(Mp4Box.All(init, "stsd").Single().Payload.IndexOf(Sps1080p) > 0);
    }

    [Fact]
    public async Task The_playlist_window_slides_and_expired_segments_go_away()
    {
        _stream.OnEpochStarted([_video]);
        using var muxer = Start(new HlsConfig { SegmentCount = 3 });
        Feed(seconds: 10.2);

        var playlist = await PlaylistAsync(muxer);

        Assert.Equal(3, playlist.Segments.Count(s => s.Uri is not null));
        Assert.Equal(7, playlist.MediaSequence);
        Assert.Null(await muxer.GetSegmentAsync(0, CancellationToken.None));
        Assert.NotNull(await muxer.GetSegmentAsync(5, CancellationToken.None)); // just left the playlist: still fetchable
    }

    [Fact]
    public async Task A_blocking_reload_waits_for_the_part_it_asks_for()
    {
        _stream.OnEpochStarted([_video]);
        using var muxer = Start();
        Feed(seconds: 1.0);
        var before = await PlaylistAsync(muxer);
        var open = before.Segments[^1];
        var next = open.Uri is null ? (Sequence: muxer.Names.Parse(open.Parts[0].Uri)!.Value.Number, Part: open.Parts.Count) : (Sequence: before.MediaSequence + before.Segments.Count, Part: 0);

        var waiting = muxer.GetMediaPlaylistAsync(next.Sequence, next.Part, CancellationToken.None);
        Assert.False(waiting.IsCompleted);
        Feed(seconds: 0.3);
        var (bytes, bad) = await waiting.WaitAsync(TimeSpan.FromSeconds(5));

        Assert.Null(bad);
        Assert.Contains(muxer.Names.Part(next.Sequence, next.Part), System.Text.Encoding.UTF8.GetString(bytes!));
        var (_, tooFar) = await muxer.GetMediaPlaylistAsync(next.Sequence + 10, 0, CancellationToken.None);
        Assert.NotNull(tooFar);
        var (_, partWithoutMsn) = await muxer.GetMediaPlaylistAsync(null, 1, CancellationToken.None);
        Assert.NotNull(partWithoutMsn);
    }

    [Fact]
    public async Task The_cached_gop_is_a_whole_first_segment_at_once_and_the_first_playlist_waits_only_for_a_live_part()
    {
        _stream.OnEpochStarted([_video]);
        Feed(seconds: 1.6); // a GOP cached, 0.6 s into the second one

        using var muxer = Start();
        var ready = muxer.WaitForContentAsync(TimeSpan.FromSeconds(5), history: false, CancellationToken.None);
        var readyBeforeLiveFrames = ready.IsCompleted;
        Feed(seconds: 0.24);

        Assert.False(readyBeforeLiveFrames);
        Assert.True(await ready.WaitAsync(TimeSpan.FromSeconds(5)));
        var playlist = await PlaylistAsync(muxer);
        Assert.Empty(playlist.Violations());
        Assert.Equal(0.6, playlist.Segments[0].Duration!.Value, 3);
        Assert.Empty(playlist.Segments[0].Parts); // listed whole: players take the cached GOP in one request
        var live = Assert.Single(playlist.Segments[1].Parts);
        Assert.False(live.Independent);
    }

    [Fact]
    public async Task Aac_rides_along_and_g711_is_left_out()
    {
        var aac = new TrackInfo { Index = 1, Kind = MediaKind.Audio, Codec = Codec.Aac, ClockRate = 48000, Channels = 1, AudioConfig = Aac48kMono };
        var pcmu = new TrackInfo { Index = 2, Kind = MediaKind.Audio, Codec = Codec.Pcmu, ClockRate = 8000, Channels = 1 };
        _stream.OnEpochStarted([_video, aac, pcmu]);
        using var muxer = Start();
        Feed(seconds: 2.2, audio: true);

        var playlist = await PlaylistAsync(muxer);

        Assert.Empty(playlist.Violations());
        var init = Mp4Box.Parse(muxer.GetInit(1)!.Value.ToArray());
        Assert.Equal(2, Mp4Box.All(init, "trak").Count());
        Assert.True(Mp4Box.All(init, "stsd").Last().Payload.IndexOf("esds"u8) > 0, "AAC sample entry with its ES descriptor");
        var part = muxer.Names.Parse(playlist.Segments[1].Parts[0].Uri)!.Value;
        var fragment = Mp4Box.Parse((await muxer.GetPartAsync(part.Number, part.Index, CancellationToken.None))!.Value.ToArray());
        Assert.Equal(2, Mp4Box.All(fragment, "traf").Count());
        Assert.Contains("mp4a.40.2", muxer.GetMultivariantPlaylist());
    }

    private HlsMuxer Start(HlsConfig? config = null)
    {
        var muxer = new HlsMuxer(_stream, config ?? new HlsConfig(), _time, NullLogger.Instance);
        _stream.Subscribe(muxer, StartAt.Keyframe);
        return muxer;
    }

    private static async Task<LowLatencyPlaylist> PlaylistAsync(HlsMuxer muxer)
    {
        var (bytes, bad) = await muxer.GetMediaPlaylistAsync(null, null, CancellationToken.None);
        Assert.Null(bad);
        return LowLatencyPlaylist.Parse(System.Text.Encoding.UTF8.GetString(bytes!));
    }

    /// <summary>
    /// Feeds 25 fps video (a keyframe every second), and AAC audio when asked, advancing the clock. With
    /// <paramref name="jitterMs"/>, frame times wander by up to that much (a fixed pattern, so runs repeat).
    /// </summary>
    private void Feed(double seconds, bool audio = false, int jitterMs = 0)
    {
        var frames = (int)Math.Round(seconds * 25);
        for (var i = 0; i < frames; i++, _frame++)
        {
            var keyframe = _frame % 25 == 0;
            var unit = VideoUnit(keyframe, (byte)_frame);
            var jitter = jitterMs == 0 ? TimeSpan.Zero : TimeSpan.FromMilliseconds(((_frame * 7) % ((2 * jitterMs) + 1)) - jitterMs);
            unit.Pts = unit.Dts = _sourceClock + jitter;
            _stream.OnAccessUnit(unit);
            if (audio)
            {
                // 1024 samples at 48 kHz: 21.3 ms; about two per video frame.
                for (var a = 0; a < 2; a++)
                {
                    var sound = AccessUnit.Rent(1, 100, isKeyframe: true);
                    sound.Pts = sound.Dts = _sourceClock + TimeSpan.FromTicks(a * 213_333);
                    _stream.OnAccessUnit(sound);
                }
            }

            _sourceClock += TimeSpan.FromMilliseconds(40);
            _time.Advance(TimeSpan.FromMilliseconds(40));
        }
    }

    private AccessUnit VideoUnit(bool keyframe, byte tag)
    {
        byte[] slice = [0, 0, 0, 1, (byte)(keyframe ? 0x65 : 0x41), tag, 0x11, 0x22, 0x33];
        byte[] data = keyframe ? [0, 0, 0, 1, .. _video.Sps.Span, 0, 0, 0, 1, .. Pps, .. slice] : slice;
        var unit = AccessUnit.Rent(0, data.Length, keyframe);
        data.CopyTo(unit.GetWritableSpan());
        return unit;
    }
}
