namespace Relay.Tests.Fixtures;

/// <summary>
/// Waits for a condition that no event announces (for example a peer's session count), checking it at a short
/// interval until a deadline. Always bounded; the failure message says what was awaited.
/// </summary>
public static class Eventually
{
    public static Task WaitAsync(Func<bool> condition, TimeSpan timeout, string what) =>
        WaitAsync(() => Task.FromResult(condition()), timeout, what);

    /// <summary>The same, for a condition that has to ask over the network.</summary>
    public static async Task WaitAsync(Func<Task<bool>> condition, TimeSpan timeout, string what)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"Timed out after {timeout.TotalSeconds:0.#} s waiting for: {what}");
            }

            await Task.Delay(50);
        }
    }
}
