using System.Numerics;

namespace Relay.Media;

/// <summary>
/// The pool behind every frame buffer (access units, RTP frames). Unlike <see cref="System.Buffers.ArrayPool{T}.Shared"/>,
/// it keeps buffers returned on any thread (frames are rented on an ingest thread and released on reader threads)
/// up to a fixed number per size class, so a steady stream reuses the same few buffers instead of allocating large
/// arrays on the large object heap. Size classes are quarter steps between powers of two (1, 1.25, 1.5, 1.75, 2 KiB,
/// 2.5 KiB … 16 MiB): a frame wastes at most a fifth of its buffer, where whole powers of two wasted up to half
/// (the GOP caches hold a second of every camera's frames, so that slack was a large part of resident memory).
/// Larger requests are not pooled.
/// </summary>
public static class MediaBufferPool
{
    private const int MinShift = 10; // 1 KiB
    private const int MaxShift = 24; // 16 MiB
    private const int StepsPerDoubling = 4;
    private const int PerClass = 256;
    private const int ClassCount = ((MaxShift - MinShift) * StepsPerDoubling) + 1;

    private static readonly Stack<byte[]>[] Classes = Enumerable.Range(0, ClassCount).Select(_ => new Stack<byte[]>()).ToArray();
    private static long s_allocated;

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

        var stack = Classes[index];
        lock (stack)
        {
            if (stack.TryPop(out var pooled))
            {
                return pooled;
            }
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

        var stack = Classes[index];
        lock (stack)
        {
            if (stack.Count < PerClass)
            {
                stack.Push(buffer);
            }
        }
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
}
