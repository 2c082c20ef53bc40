using Microsoft.Extensions.Time.Testing;
using Relay.Configuration;
using Relay.Media;
using Relay.Server.Streams;
using static Relay.Tests.Streams.StreamTestKit;

namespace Relay.Tests.Streams;

public sealed class StreamTests
{
    private readonly FakeTimeProvider _time = new();

    [Fact]
    public void A_reader_joining_mid_gop_gets_the_cached_keyframe_first_then_the_rest_in_order()
    {
        using var stream = CreateStream(_time);
        stream.OnEpochStarted([Video]);
        FeedVideo(stream, 0, 37); // keyframes at 0 and 25; we join at 38

        using var reader = stream.OpenReader(StartAt.Keyframe);
        FeedVideo(stream, 38, 40);

        var frames = Drain(reader);
        Assert.Equal(Enumerable.Range(25, 16).Select(i => (byte)i), frames.Select(f => f.Data[0]));
        Assert.True(frames[0].IsKeyframe);
    }

    [Fact]
    public void A_live_reader_waits_for_the_next_keyframe()
    {
        using var stream = CreateStream(_time);
        stream.OnEpochStarted([Video]);
        FeedVideo(stream, 0, 30);

        using var reader = stream.OpenReader(StartAt.Live);
        FeedVideo(stream, 31, 52);

        var frames = Drain(reader);
        Assert.Equal(50, frames[0].Data[0]);
        Assert.True(frames[0].IsKeyframe);
    }

    [Fact]
    public void A_new_epoch_drops_video_until_its_first_keyframe_and_stays_monotonic()
    {
        using var stream = CreateStream(_time);
        stream.OnEpochStarted([Video]);
        using var reader = stream.OpenReader(StartAt.Keyframe);
        FeedVideo(stream, 0, 10);
        stream.OnEpochEnded();
        _time.Advance(TimeSpan.FromSeconds(5));

        // The camera is back; its clock restarted at 0 and it joins mid-GOP (frames 3, 4 are not keyframes).
        stream.OnEpochStarted([Video]);
        stream.OnAccessUnit(VideoUnit(3, false));
        stream.OnAccessUnit(VideoUnit(4, false));
        FeedVideo(stream, 5, 8, gop: 5);

        var frames = Drain(reader);
        Assert.Equal(Enumerable.Range(0, 11).Concat(Enumerable.Range(5, 4)).Select(i => (byte)i), frames.Select(f => f.Data[0]));
        Assert.All(frames.Zip(frames.Skip(1)), p => Assert.True(p.Second.Dts > p.First.Dts));
        Assert.True(frames[11].Dts - frames[10].Dts >= TimeSpan.FromSeconds(4.5), "the outage shows as a pause on the timeline");
        Assert.Equal(2, stream.Epochs);
    }

    [Fact]
    public void A_reader_that_never_reads_has_a_bounded_queue_counts_its_skips_and_costs_others_nothing()
    {
        var config = new StreamConfig { Name = "cam1", Source = new Uri("test:"), ReaderQueueMaxFrames = 50, ReaderQueueMaxBytes = 1 << 20 };
        using var stream = CreateStream(_time, config);
        stream.OnEpochStarted([Video]);
        using var stuck = stream.OpenReader(StartAt.Live);
        using var healthy = stream.OpenReader(StartAt.Live);
        var received = new List<byte>();

        for (var i = 0; i < 1000; i++)
        {
            stream.OnAccessUnit(VideoUnit(i, i % 25 == 0));
            while (healthy.TryRead(out var unit))
            {
                received.Add(unit.Data.Span[0]);
                unit.Release();
            }
        }

        Assert.Equal(50, stuck.Queued);
        Assert.Equal(1000 - 50, stuck.Skipped);
        Assert.Equal(1000, received.Count);
        Assert.Equal(0, healthy.Skipped);
    }

    [Fact]
    public void A_slow_reader_resumes_at_a_keyframe_after_skipping()
    {
        var config = new StreamConfig { Name = "cam1", Source = new Uri("test:"), ReaderQueueMaxFrames = 30 };
        using var stream = CreateStream(_time, config);
        stream.OnEpochStarted([Video]);
        using var slow = stream.OpenReader(StartAt.Live);
        FeedVideo(stream, 0, 39); // 30 queued (0..29), 30..39 skipped

        var first = Drain(slow);
        FeedVideo(stream, 40, 55); // skipping continues until keyframe 50

        var second = Drain(slow);
        Assert.Equal(30, first.Count);
        Assert.Equal(Enumerable.Range(50, 6).Select(i => (byte)i), second.Select(f => f.Data[0]));
        Assert.Equal(20, slow.Skipped);
    }

    [Fact]
    public void Units_are_returned_to_the_pool_when_every_holder_released_them()
    {
        using var stream = CreateStream(_time);
        stream.OnEpochStarted([Video]);
        using var reader = stream.OpenReader(StartAt.Live);
        var unit = VideoUnit(0, true);
        unit.AddRef(); // the test's own look at it

        stream.OnAccessUnit(unit);
        Assert.Equal(3, unit.ReferenceCount); // test + GOP cache + reader queue

        Assert.True(reader.TryRead(out var read));
        read.Release();
        stream.Dispose(); // drops the cache
        Assert.Equal(1, unit.ReferenceCount);
        unit.Release();
        Assert.Equal(0, unit.ReferenceCount);
    }

    [Fact]
    public void A_reader_woken_per_video_frame_gets_audio_with_the_next_video_unit_in_order_and_releases_what_it_held()
    {
        using var stream = CreateStream(_time);
        stream.OnEpochStarted([Video, Audio]);
        using var reader = stream.OpenReader(StartAt.Live, wakeOnSyncTrack: true);
        stream.OnAccessUnit(VideoUnit(0, true));
        Assert.True(reader.TryRead(out var first));
        first.Release();

        stream.OnAccessUnit(AudioUnit(1));
        stream.OnAccessUnit(AudioUnit(2));
        Assert.False(reader.TryRead(out _)); // held until the next video unit: no wake for audio alone

        stream.OnAccessUnit(VideoUnit(3, false));
        Assert.Equal([(1, 20), (1, 40), (0, 120)], DrainTracks(reader));

        var held = AudioUnit(4);
        held.AddRef(); // the test's own look at it
        stream.OnAccessUnit(held);
        var count = held.ReferenceCount;
        reader.Dispose();
        Assert.Equal(count - 1, held.ReferenceCount); // the reader let go of what it held
        held.Release();
    }

    [Fact]
    public async Task A_codec_change_ends_existing_readers()
    {
        using var stream = CreateStream(_time);
        stream.OnEpochStarted([Video]);
        using var reader = stream.OpenReader(StartAt.Live);

        stream.OnEpochStarted([Video with { Codec = Codec.H265 }]);

        await Assert.ThrowsAsync<StreamEndedException>(() => reader.WaitToReadAsync(CancellationToken.None).AsTask());
    }

    [Fact]
    public async Task Readiness_waits_for_the_video_decoder_configuration()
    {
        using var stream = CreateStream(_time);
        stream.OnEpochStarted([Video with { Sps = default, Pps = default }, Audio]);
        Assert.False(stream.IsReady);

        stream.OnTrackChanged(Video);

        Assert.True(stream.IsReady);
        Assert.True(await stream.WaitUntilReadyAsync(TimeSpan.FromSeconds(1), CancellationToken.None));
    }

    private static List<(int Track, double DtsMs)> DrainTracks(AccessUnitReader reader)
    {
        var units = new List<(int, double)>();
        while (reader.TryRead(out var unit))
        {
            units.Add((unit.TrackIndex, unit.Dts.TotalMilliseconds));
            unit.Release();
        }

        return units;
    }

    private static List<(byte[] Data, bool IsKeyframe, TimeSpan Dts)> Drain(AccessUnitReader reader)
    {
        var frames = new List<(byte[], bool, TimeSpan)>();
        while (reader.TryRead(out var unit))
        {
            frames.Add((unit.Data.ToArray(), unit.IsKeyframe, unit.Dts));
            unit.Release();
        }

        return frames;
    }
}
