using System.Runtime.InteropServices;

namespace Relay.Server.Interop;

/// <summary>
/// Base of Relay's SafeHandles: one subclass per native release function. A handle that reaches its
/// finalizer instead of being disposed is a leak in our code; it is released anyway and recorded in
/// <see cref="LeakTracker"/>, which the tests check.
/// </summary>
internal abstract class NativeHandle : SafeHandle
{
    private readonly string? _allocationStack;

    protected NativeHandle(IntPtr handle, bool ownsHandle)
        : base(IntPtr.Zero, ownsHandle)
    {
        SetHandle(handle);
        OwnsHandle = ownsHandle;
        if (LeakTracker.CaptureAllocationStacks)
        {
            _allocationStack = Environment.StackTrace;
        }
    }

    /// <inheritdoc />
    public override bool IsInvalid => handle == IntPtr.Zero;

    /// <summary>
    /// Gets the native pointer for a call. The owning wrapper guarantees the handle outlives the call
    /// (it is never disposed while one of its methods runs).
    /// </summary>
    public IntPtr Ptr => IsClosed ? throw new ObjectDisposedException(GetType().Name) : handle;

    /// <summary>Gets a value indicating whether disposing this handle releases a native reference.</summary>
    protected bool OwnsHandle { get; }

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        if (!disposing && OwnsHandle && !IsInvalid && !IsClosed)
        {
            LeakTracker.RecordFinalized(GetType().Name, _allocationStack);
        }

        base.Dispose(disposing);
    }
}
