using System.Numerics;

namespace Relay.Media;

/// <summary>
/// The pool behind every frame buffer (access units, RTP frames). Unlike <see cref="System.Buffers.ArrayPool{T}.Shared"/>,
/// it keeps buffers returned on any thread (frames are rented on an ingest thread and released on reader threads)
/// up to a fixed number per size class, so a steady stream reuses the same few buffers instead of allocating large
/// arrays on the large object heap. Size classes are quarter steps between powers of two (1, 1.25, 1.5, 1.75, 2 KiB,
/// 2.5 KiB … 16 MiB): a frame wastes at most a fifth of its buffer, where whole powers of two wasted up to half
/// (the GOP caches hold a second of every camera's frames, so that slack was a large part of resident memory).
/// Larger requests are not pooled. Every few seconds the buffers that sat in the pool through a whole interval are
/// dropped, so what a burst needed (readers joining, a long GOP) goes back once it is over; when that was a lot, one
/// collection gives it back to the system.
/// </summary>
public static class MediaBufferPool
{
    private const int MinShift = 10; // 1 KiB
    private const int MaxShift = 24; // 16 MiB
    private const int StepsPerDoubling = 4;
    private const int PerClass = 256;
    private const int ClassCount = ((MaxShift - MinShift) * StepsPerDoubling) + 1;
    private const long TrimIntervalMilliseconds = 5_000;
    private const long CollectAfterBytes = 1 << 20;

    private static readonly SizeClass[] Classes = Enumerable.Range(0, ClassCount).Select(_ => new SizeClass(PerClass)).ToArray();
    private static long s_allocated;
    private static long s_nextTrim = Environment.TickCount64 + TrimIntervalMilliseconds;
    private static long s_droppedSinceCollection;

    /// <summary>Gets the number of buffers allocated since start (a steady stream stops increasing it).</summary>
    public static long Allocated => Interlocked.Read(ref s_allocated);

    /// <summary>Rents a buffer of at least <paramref name="minimumLength"/> bytes; its content is undefined.</summary>
    /// <param name="minimumLength">The smallest usable length.</param>
    /// <returns>The buffer; give it back with <see cref="Return"/>.</returns>
    public static byte[] Rent(int minimumLength)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(minimumLength);
        var index = ClassFor(minimumLength);
        if (index >= ClassCount)
        {
            Interlocked.Increment(ref s_allocated);
            return GC.AllocateUninitializedArray<byte>(minimumLength);
        }

        if (Classes[index].TryRent() is { } pooled)
        {
            return pooled;
        }

        Interlocked.Increment(ref s_allocated);
        return GC.AllocateUninitializedArray<byte>(ClassSize(index));
    }

    /// <summary>Gives a buffer back. Buffers not from <see cref="Rent"/> (odd sizes) are left to the GC.</summary>
    /// <param name="buffer">The buffer; the caller must not use it afterwards.</param>
    public static void Return(byte[] buffer)
    {
        ArgumentNullException.ThrowIfNull(buffer);
        var index = ClassFor(buffer.Length);
        if (index >= ClassCount || ClassSize(index) != buffer.Length)
        {
            return;
        }

        Classes[index].Return(buffer);
        var now = Environment.TickCount64;
        var due = Volatile.Read(ref s_nextTrim);
        if (now >= due && Interlocked.CompareExchange(ref s_nextTrim, now + TrimIntervalMilliseconds, due) == due)
        {
            Trim();
        }
    }

    /// <summary>
    /// Drops the buffers that stayed in the pool since the previous trim (the pool does this itself every few
    /// seconds); once a megabyte was dropped, queues a compacting collection so the memory leaves the process.
    /// </summary>
    /// <returns>The bytes dropped.</returns>
    public static long Trim()
    {
        long dropped = 0;
        foreach (var sizeClass in Classes)
        {
            dropped += sizeClass.Trim();
        }

        // Counted across trims: dropped buffers are garbage in the oldest generation, which only a full collection frees.
        if (Interlocked.Add(ref s_droppedSinceCollection, dropped) >= CollectAfterBytes)
        {
            Interlocked.Exchange(ref s_droppedSinceCollection, 0);
            // Off the caller's thread (often a stream's ingest thread). Pooled buffers are long-lived, so they sit in
            // the oldest generation, which a relay's small allocation rate almost never collects by itself.
            ThreadPool.UnsafeQueueUserWorkItem(static _ => GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true), null);
        }

        return dropped;
    }

    /// <summary>Gets the index of the smallest class that holds <paramref name="length"/> bytes (ClassCount when none).</summary>
    internal static int ClassFor(int length)
    {
        if (length <= 1 << MinShift)
        {
            return 0;
        }

        // length is in (2^(shift-1), 2^shift]; the classes there are 2^(shift-1) × 5/4, 6/4, 7/4, 8/4.
        var shift = (int)BitOperations.Log2((uint)(length - 1)) + 1;
        if (shift > MaxShift)
        {
            return ClassCount;
        }

        var quarter = 1 << (shift - 1 - 2);
        var step = ((length - (1 << (shift - 1)) - 1) / quarter) + 1; // 1..4
        return ((shift - 1 - MinShift) * StepsPerDoubling) + step;
    }

    /// <summary>Gets the buffer length of a class.</summary>
    internal static int ClassSize(int index)
    {
        if (index == 0)
        {
            return 1 << MinShift;
        }

        var doubling = (index - 1) / StepsPerDoubling;
        var step = ((index - 1) % StepsPerDoubling) + 1;
        var base2 = 1 << (MinShift + doubling);
        return base2 + (step * (base2 / StepsPerDoubling));
    }

    /// <summary>
    /// The pooled buffers of one size, and the fewest it held since its last trim: that many were not needed during
    /// the whole interval, so a trim drops them.
    /// </summary>
    internal sealed class SizeClass(int capacity)
    {
        private readonly Stack<byte[]> _buffers = new();
        private int _fewest; // guarded by _buffers

        /// <summary>Gets the number of buffers held.</summary>
        public int Count
        {
            get
            {
                lock (_buffers)
                {
                    return _buffers.Count;
                }
            }
        }

        /// <summary>Takes a pooled buffer, or returns null when there is none.</summary>
        public byte[]? TryRent()
        {
            lock (_buffers)
            {
                var found = _buffers.TryPop(out var buffer);
                _fewest = Math.Min(_fewest, _buffers.Count);
                return found ? buffer : null;
            }
        }

        /// <summary>Keeps a buffer, unless the class is full.</summary>
        public void Return(byte[] buffer)
        {
            lock (_buffers)
            {
                if (_buffers.Count < capacity)
                {
                    _buffers.Push(buffer);
                }
            }
        }

        /// <summary>Drops the buffers that were not rented since the previous trim.</summary>
        /// <returns>The bytes dropped.</returns>
        public long Trim()
        {
            long dropped = 0;
            lock (_buffers)
            {
                for (var i = 0; i < _fewest && _buffers.TryPop(out var buffer); i++)
                {
                    dropped += buffer.Length;
                }

                _fewest = _buffers.Count;
            }

            return dropped;
        }
    }
}
