using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Relay.Server.Interop;

namespace Relay.Server.GStreamer;

/// <summary>
/// A private GMainContext run by a GMainLoop on one dedicated thread. The process-wide default context is
/// never used: nothing runs it in an ASP.NET Core process. Work is marshalled onto the loop with
/// g_main_context_invoke_full, which runs a function on the thread that owns the context.
/// </summary>
internal sealed class GLibMainLoop : IDisposable
{
    private readonly GMainContextHandle _context;
    private readonly GMainLoopHandle _loop;
    private readonly Thread _thread;
    private int _disposed;

    public GLibMainLoop(string threadName)
    {
        _context = GMainContextHandle.Create();
        _loop = GMainLoopHandle.Create(_context);
        using var started = new ManualResetEventSlim();
        _thread = new Thread(() => Run(started)) { IsBackground = true, Name = threadName };
        _thread.Start();
        started.Wait();
    }

    /// <summary>Gets the GMainContext, for APIs that attach sources to it (gst_rtsp_server_attach).</summary>
    internal GMainContextHandle Context => _context;

    /// <summary>Gets a value indicating whether the caller runs on the loop thread.</summary>
    public bool IsLoopThread => Thread.CurrentThread == _thread;

    /// <summary>Runs <paramref name="action"/> on the loop thread and waits for it.</summary>
    /// <param name="action">The work; its exception is rethrown here.</param>
    public void Invoke(Action action)
    {
        if (IsLoopThread)
        {
            action();
            return;
        }

        InvokeAsync(() =>
        {
            action();
            return true;
        }).GetAwaiter().GetResult();
    }

    /// <summary>Queues <paramref name="func"/> on the loop thread.</summary>
    /// <typeparam name="T">The result type.</typeparam>
    /// <param name="func">The work.</param>
    /// <returns>A task that completes with the result, or the exception.</returns>
    public unsafe Task<T> InvokeAsync<T>(Func<T> func)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        var item = new WorkItem<T>(func);
        var data = GCHandle.ToIntPtr(GCHandle.Alloc(item));
        GLib.g_main_context_invoke_full(_context.Ptr, GstConstants.PriorityDefault, &RunWorkItem, data, &NativeCallbacks.FreeGCHandle);
        return item.Task;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        var loop = _loop.Ptr;
        RunOnLoop(() => GLib.g_main_loop_quit(loop));
        if (!IsLoopThread)
        {
            _thread.Join();
        }

        _loop.Dispose();
        _context.Dispose();
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static int RunWorkItem(IntPtr data)
    {
        try
        {
            NativeCallbacks.Target<IWorkItem>(data).Run();
        }
        catch (Exception e)
        {
            NativeCallbacks.Report(e);
        }

        return 0; // G_SOURCE_REMOVE
    }

    private unsafe void RunOnLoop(Action action)
    {
        var item = new WorkItem<bool>(() =>
        {
            action();
            return true;
        });
        var data = GCHandle.ToIntPtr(GCHandle.Alloc(item));
        GLib.g_main_context_invoke_full(_context.Ptr, GstConstants.PriorityDefault, &RunWorkItem, data, &NativeCallbacks.FreeGCHandle);
    }

    private void Run(ManualResetEventSlim started)
    {
        var context = _context.Ptr;
        GLib.g_main_context_push_thread_default(context);
        started.Set();
        try
        {
            GLib.g_main_loop_run(_loop.Ptr);
        }
        finally
        {
            GLib.g_main_context_pop_thread_default(context);
        }
    }

    private interface IWorkItem
    {
        void Run();
    }

    private sealed class WorkItem<T>(Func<T> func) : IWorkItem
    {
        private readonly TaskCompletionSource<T> _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task<T> Task => _completion.Task;

        public void Run()
        {
            try
            {
                _completion.TrySetResult(func());
            }
            catch (Exception e)
            {
                _completion.TrySetException(e);
            }
        }
    }
}
