using System.Numerics;

namespace Relay.Media;

/// <summary>
/// The pool behind every frame buffer (access units, RTP frames). Unlike <see cref="System.Buffers.ArrayPool{T}.Shared"/>,
/// it keeps buffers returned on any thread (frames are rented on an ingest thread and released on reader threads)
/// up to a fixed number per size class, so a steady stream reuses the same few buffers instead of allocating large
/// arrays on the large object heap. Sizes are powers of two from 1 KiB to 16 MiB; larger requests are not pooled.
/// </summary>
public static class MediaBufferPool
{
    private const int MinShift = 10; // 1 KiB
    private const int MaxShift = 24; // 16 MiB
    private const int PerClass = 256;

    private static readonly Stack<byte[]>[] Classes = Enumerable.Range(0, MaxShift - MinShift + 1).Select(_ => new Stack<byte[]>()).ToArray();
    private static long s_allocated;

    /// <summary>Gets the number of buffers allocated since start (a steady stream stops increasing it).</summary>
    public static long Allocated => Interlocked.Read(ref s_allocated);

    /// <summary>Rents a buffer of at least <paramref name="minimumLength"/> bytes; its content is undefined.</summary>
    /// <param name="minimumLength">The smallest usable length.</param>
    /// <returns>The buffer; give it back with <see cref="Return"/>.</returns>
    public static byte[] Rent(int minimumLength)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(minimumLength);
        var shift = Math.Max(MinShift, (int)BitOperations.Log2((uint)Math.Max(1, minimumLength - 1)) + 1);
        if (shift > MaxShift)
        {
            Interlocked.Increment(ref s_allocated);
            return GC.AllocateUninitializedArray<byte>(minimumLength);
        }

        var stack = Classes[shift - MinShift];
        lock (stack)
        {
            if (stack.TryPop(out var pooled))
            {
                return pooled;
            }
        }

        Interlocked.Increment(ref s_allocated);
        return GC.AllocateUninitializedArray<byte>(1 << shift);
    }

    /// <summary>Gives a buffer back. Buffers not from <see cref="Rent"/> (odd sizes) are left to the GC.</summary>
    /// <param name="buffer">The buffer; the caller must not use it afterwards.</param>
    public static void Return(byte[] buffer)
    {
        ArgumentNullException.ThrowIfNull(buffer);
        if (!BitOperations.IsPow2(buffer.Length))
        {
            return;
        }

        var shift = BitOperations.Log2((uint)buffer.Length);
        if (shift is < MinShift or > MaxShift)
        {
            return;
        }

        var stack = Classes[shift - MinShift];
        lock (stack)
        {
            if (stack.Count < PerClass)
            {
                stack.Push(buffer);
            }
        }
    }
}
