namespace Relay.Server.Health;

/// <summary>
/// What <c>/readyz</c> reports: the relay is ready once its listeners are up and its configuration is loaded. A camera
/// being down does not make the relay unready (that shows in metrics and status); restarting the pod would not help.
/// </summary>
internal sealed class Readiness
{
    private readonly List<Func<string?>> _checks = [];

    /// <summary>Adds a check that returns why the relay is not ready, or null when it is.</summary>
    public void Add(Func<string?> check)
    {
        lock (_checks)
        {
            _checks.Add(check);
        }
    }

    /// <summary>Gets every reason the relay is not ready (empty when ready).</summary>
    public IReadOnlyList<string> Problems()
    {
        lock (_checks)
        {
            return _checks.Select(c => c()).OfType<string>().ToList();
        }
    }
}
