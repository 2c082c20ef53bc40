using Relay.Server.Interop;
using Xunit.Abstractions;

namespace Relay.Tests.Fixtures;

/// <summary>
/// Base of every test that touches native code (LibGit2Sharp's BaseFixture pattern): after each test it
/// collects garbage, runs finalizers, and fails if any native handle was finalized instead of disposed.
/// </summary>
public abstract class InteropTestBase : IDisposable
{
    protected InteropTestBase(ITestOutputHelper output)
    {
        Output = output;
        Logs = new TestLoggerProvider(output);
    }

    protected ITestOutputHelper Output { get; }

    /// <summary>Gets the log lines written during the test (also sent to the test output).</summary>
    protected TestLoggerProvider Logs { get; }

    public void Dispose()
    {
        Dispose(true);
        GC.SuppressFinalize(this);
    }

    protected virtual void Dispose(bool disposing)
    {
        Logs.Dispose();
        AssertNoLeakedHandles();
    }

    /// <summary>Collects garbage and fails when any native handle reached its finalizer.</summary>
    protected static void AssertNoLeakedHandles()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        var leaks = LeakTracker.Drain();
        Assert.True(leaks.Count == 0, $"Native handles were finalized instead of disposed:{Environment.NewLine}{string.Join(Environment.NewLine, leaks)}");
    }
}
