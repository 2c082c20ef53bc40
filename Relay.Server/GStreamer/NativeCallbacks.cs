using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Relay.Server.GStreamer;

/// <summary>
/// Shared pieces of every native callback. An exception that escapes an [UnmanagedCallersOnly] method
/// kills the process, so each callback catches everything and reports it here; the host logs it.
/// </summary>
internal static class NativeCallbacks
{
    private static long s_failures;

    /// <summary>Raised (on the native thread) when a callback caught an exception.</summary>
    public static event Action<Exception>? Failed;

    /// <summary>Gets how many callbacks have failed since start.</summary>
    public static long FailureCount => Interlocked.Read(ref s_failures);

    /// <summary>Reports an exception caught in a native callback. Never throws.</summary>
    public static void Report(Exception exception)
    {
        Interlocked.Increment(ref s_failures);
        try
        {
            Failed?.Invoke(exception);
        }
        catch
        {
            // A failing logger must not take the process down from a native thread.
        }
    }

    /// <summary>GDestroyNotify that frees a GCHandle passed as user_data.</summary>
    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    public static void FreeGCHandle(IntPtr data)
    {
        if (data != IntPtr.Zero)
        {
            var handle = GCHandle.FromIntPtr(data);
            try
            {
                (handle.Target as IDisposable)?.Dispose(); // a handler holding native references lets them go with it
            }
            catch (Exception e)
            {
                Report(e);
            }
            finally
            {
                handle.Free();
            }
        }
    }

    /// <summary>GClosureNotify (data, closure) that frees a GCHandle passed as user_data.</summary>
    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    public static void FreeGCHandleClosure(IntPtr data, IntPtr closure)
    {
        if (data != IntPtr.Zero)
        {
            GCHandle.FromIntPtr(data).Free();
        }
    }

    /// <summary>Gets the managed target of a GCHandle passed as user_data.</summary>
    public static T Target<T>(IntPtr data)
        where T : class => (T)GCHandle.FromIntPtr(data).Target!;
}
