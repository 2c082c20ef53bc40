using System.Threading.Channels;
using Relay.Media;

namespace Relay.Server.Streams;

/// <summary>
/// One reader's bounded queue of shared frames. The writer (the stream, on its delivery thread) never blocks:
/// when the queue is full the frame is dropped and the reader skips everything up to the next keyframe of
/// <see cref="SyncTrack"/>, so its decoder never sees a frame whose reference was dropped. Skipped frames
/// are counted. A reader that makes no progress for the stall timeout while full is faulted: the queue
/// completes with <see cref="ReaderTooSlowException"/> and <see cref="Faulted"/> is cancelled, so the owner
/// can abort a write that is stuck on the network.
/// </summary>
/// <typeparam name="T">The frame type.</typeparam>
internal sealed class FrameQueue<T> : IDisposable
    where T : class, IMediaFrame
{
    private readonly Channel<T> _channel = System.Threading.Channels.Channel.CreateUnbounded<T>(
        new UnboundedChannelOptions { SingleReader = true, SingleWriter = true, AllowSynchronousContinuations = false });

    private readonly FrameQueueOptions _options;
    private readonly TimeProvider _time;
    private readonly CancellationTokenSource _faulted = new();
    private int _frames;
    private long _bytes;
    private long _skipped;
    private long _delivered;
    private long _lastProgress;
    private bool _skipping; // writer side only
    private int _disposed;

    public FrameQueue(FrameQueueOptions options, TimeProvider time, bool startAtKeyframe)
    {
        _options = options;
        _time = time;
        _skipping = startAtKeyframe;
        _lastProgress = time.GetTimestamp();
    }

    /// <summary>Gets or sets the track whose keyframes end a skip; -1 means any keyframe (audio-only streams).</summary>
    public int SyncTrack { get; set; } = -1;

    /// <summary>Gets the number of frames dropped for this reader.</summary>
    public long Skipped => Interlocked.Read(ref _skipped);

    /// <summary>Gets the number of frames the reader has taken.</summary>
    public long Delivered => Interlocked.Read(ref _delivered);

    /// <summary>Gets the number of frames waiting.</summary>
    public int Count => Volatile.Read(ref _frames);

    /// <summary>Gets the number of bytes waiting.</summary>
    public long Bytes => Interlocked.Read(ref _bytes);

    /// <summary>Gets a value indicating whether the writer is skipping up to the next keyframe.</summary>
    public bool IsSkipping => Volatile.Read(ref _skipping);

    /// <summary>Gets a token cancelled when the reader is cut off for being too slow.</summary>
    public CancellationToken Faulted => _faulted.Token;

    /// <summary>Gets a task that completes when the queue is completed and drained.</summary>
    public Task Completion => _channel.Reader.Completion;

    /// <summary>Offers a frame. Adds a reference when the frame is queued. Never blocks.</summary>
    /// <returns>True when queued; false when skipped or the queue is completed.</returns>
    public bool TryWrite(T frame)
    {
        if (Volatile.Read(ref _disposed) != 0 || _faulted.IsCancellationRequested)
        {
            return false;
        }

        var isSyncPoint = frame.IsKeyframe && (SyncTrack < 0 || frame.TrackIndex == SyncTrack);
        var full = Volatile.Read(ref _frames) >= _options.MaxFrames || Interlocked.Read(ref _bytes) + frame.Length > _options.MaxBytes;
        if (_skipping)
        {
            if (!isSyncPoint || full)
            {
                Skip(full);
                return false;
            }

            Volatile.Write(ref _skipping, false);
        }
        else if (full)
        {
            Volatile.Write(ref _skipping, true);
            Skip(full);
            return false;
        }

        frame.AddRef();
        Interlocked.Increment(ref _frames);
        Interlocked.Add(ref _bytes, frame.Length);
        if (!_channel.Writer.TryWrite(frame))
        {
            Dequeued(frame);
            frame.Release();
            return false;
        }

        return true;
    }

    /// <summary>Takes the next frame; the caller owns one reference and must release it.</summary>
    public bool TryRead(out T frame)
    {
        if (_channel.Reader.TryRead(out frame!))
        {
            Dequeued(frame);
            Interlocked.Increment(ref _delivered);
            Volatile.Write(ref _lastProgress, _time.GetTimestamp());
            return true;
        }

        return false;
    }

    /// <summary>Waits until a frame can be read; false when the queue is completed and empty.</summary>
    public ValueTask<bool> WaitToReadAsync(CancellationToken cancellationToken) => _channel.Reader.WaitToReadAsync(cancellationToken);

    /// <summary>Ends the queue; the reader drains what is left, then sees completion (or <paramref name="error"/>).</summary>
    public void Complete(Exception? error = null) => _channel.Writer.TryComplete(error);

    /// <summary>Completes the queue and releases every frame still in it.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        _channel.Writer.TryComplete();
        while (_channel.Reader.TryRead(out var frame))
        {
            Dequeued(frame);
            frame.Release();
        }

        // _faulted is not disposed: writers may still be checking it, and a CTS without timers holds nothing.
    }

    private void Dequeued(T frame)
    {
        Interlocked.Decrement(ref _frames);
        Interlocked.Add(ref _bytes, -frame.Length);
    }

    private void Skip(bool full)
    {
        Interlocked.Increment(ref _skipped);
        if (full && _time.GetElapsedTime(Volatile.Read(ref _lastProgress)) > _options.StallTimeout && !_faulted.IsCancellationRequested)
        {
            _channel.Writer.TryComplete(new ReaderTooSlowException());

            // The writer runs under the stream's lock: the owner's reactions (closing a connection) run elsewhere.
            _ = _faulted.CancelAsync();
        }
    }
}
