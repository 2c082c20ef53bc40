using System.Collections.Concurrent;

namespace Relay.Server.Interop;

/// <summary>
/// Records native handles that were finalized instead of disposed. Set
/// <c>RELAY_TRACE_HANDLE_FINALIZATION=1</c> to record where each leaked handle was allocated.
/// </summary>
internal static class LeakTracker
{
    private static readonly ConcurrentQueue<string> Leaks = new();

    /// <summary>Gets a value indicating whether handles record their allocation stack.</summary>
    public static bool CaptureAllocationStacks { get; } =
        Environment.GetEnvironmentVariable("RELAY_TRACE_HANDLE_FINALIZATION") is "1" or "true";

    /// <summary>Gets the number of leaks recorded since start or the last <see cref="Drain"/>.</summary>
    public static int Count => Leaks.Count;

    /// <summary>Records a handle that reached its finalizer.</summary>
    /// <param name="handleType">The handle's type name.</param>
    /// <param name="allocationStack">Where it was allocated, when captured.</param>
    public static void RecordFinalized(string handleType, string? allocationStack) =>
        Leaks.Enqueue(allocationStack is null ? handleType : $"{handleType} allocated at{Environment.NewLine}{allocationStack}");

    /// <summary>Returns and forgets every recorded leak.</summary>
    /// <returns>One description per leaked handle.</returns>
    public static IReadOnlyList<string> Drain()
    {
        var drained = new List<string>();
        while (Leaks.TryDequeue(out var leak))
        {
            drained.Add(leak);
        }

        return drained;
    }
}
