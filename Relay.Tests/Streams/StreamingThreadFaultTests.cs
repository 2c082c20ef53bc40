using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Relay.Configuration;
using Relay.Media;
using Relay.Server.Sources;
using Relay.Server.Streams;

namespace Relay.Tests.Streams;

/// <summary>A fault on a camera's streaming thread costs one frame or one subscriber, never the others or a pooled buffer.</summary>
public sealed class StreamingThreadFaultTests
{
    private readonly FakeTimeProvider _time = new();

    [Fact]
    public void A_subscriber_that_throws_is_detached_and_the_ones_after_it_still_get_every_frame()
    {
        var stream = StreamTestKit.CreateStream(_time);
        var broken = new Subscriber(throwOnUnit: 3);
        var healthy = new Subscriber();
        stream.Subscribe(broken, StartAt.Live);
        stream.Subscribe(healthy, StartAt.Live);
        stream.OnEpochStarted([StreamTestKit.Video]);

        StreamTestKit.FeedVideo(stream, 0, 9);

        Assert.Equal(Enumerable.Range(0, 10), healthy.Frames);
        Assert.Equal([0, 1, 2], broken.Frames);
        Assert.True(broken.Detached);
        Assert.False(healthy.Detached);
        Assert.Equal(1, stream.SubscriberCount);
    }

    [Fact]
    public void A_unit_whose_track_update_throws_goes_back_to_the_pool_and_the_next_unit_still_arrives()
    {
        var sink = new ThrowingSink();
        var session = new IngestSession(new Uri("rtsp://h/x"), sink, TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(5), _time, NullLogger.Instance);
        session.PostTracks([StreamTestKit.Video]);

        // New caps make the session tell the sink the track changed; the sink throws.
        var failing = StreamTestKit.VideoUnit(0, keyframe: true);
        failing.AddRef(); // the test's own reference, to watch the count
        session.PostSample(failing, "video/x-h264, framerate=(fraction)30/1");
        var next = StreamTestKit.VideoUnit(1, keyframe: false);
        session.PostSample(next, null);

        Assert.Equal(1, failing.ReferenceCount); // the session let go of its reference
        Assert.Equal([1], sink.Frames);
        failing.Release();
    }

    private sealed class Subscriber(int throwOnUnit = -1) : IStreamSubscriber
    {
        public List<int> Frames { get; } = [];

        public bool Detached { get; private set; }

        public void OnAttached(IReadOnlyList<TrackInfo> tracks, int anchorTrack, IReadOnlyList<AccessUnit> gop)
        {
        }

        public void OnAccessUnit(AccessUnit unit)
        {
            var frame = unit.Data.Span[0];
            if (frame == throwOnUnit)
            {
                throw new InvalidOperationException("a subscriber's bug");
            }

            Frames.Add(frame);
        }

        public void OnTracksChanged(IReadOnlyList<TrackInfo> tracks, int anchorTrack, bool codecChanged)
        {
        }

        public void OnDetached() => Detached = true;
    }

    private sealed class ThrowingSink : IMediaSink
    {
        public List<int> Frames { get; } = [];

        public void OnEpochStarted(IReadOnlyList<TrackInfo> tracks)
        {
        }

        public void OnTrackChanged(TrackInfo track) => throw new InvalidOperationException("a sink's bug");

        public void OnAccessUnit(AccessUnit unit)
        {
            Frames.Add(unit.Data.Span[0]);
            unit.Release();
        }

        public void OnEpochEnded()
        {
        }
    }
}
