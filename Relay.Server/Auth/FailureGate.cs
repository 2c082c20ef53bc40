using System.Net;
using Relay.Configuration;

namespace Relay.Server.Auth;

/// <summary>
/// Failed authentications per client address: the first <see cref="AuthConfig.SlowAfterFailures"/> within
/// <see cref="AuthConfig.FailureWindow"/> are answered at once, later ones a second later per failure (up to 5 s), and
/// at <see cref="AuthConfig.BlockAfterFailures"/> the address is refused for <see cref="AuthConfig.BlockDuration"/>.
/// A password-guessing loop is thus held to a handful of guesses per window. The table is bounded: past
/// <see cref="MaxAddresses"/> addresses, those with the oldest failures are forgotten first (blocked ones last).
/// </summary>
internal sealed class FailureGate(TimeProvider time, Func<AuthConfig> config)
{
    /// <summary>The most addresses remembered.</summary>
    public const int MaxAddresses = 10_000;

    private static readonly TimeSpan MaxDelay = TimeSpan.FromSeconds(5);
    private readonly Dictionary<IPAddress, Entry> _entries = []; // guarded by itself

    /// <summary>Gets the number of addresses remembered.</summary>
    public int AddressCount
    {
        get
        {
            lock (_entries)
            {
                return _entries.Count;
            }
        }
    }

    /// <summary>Gets the number of addresses refused now.</summary>
    public int BlockedCount
    {
        get
        {
            var now = time.GetUtcNow();
            lock (_entries)
            {
                return _entries.Values.Count(e => e.BlockedUntil > now);
            }
        }
    }

    /// <summary>Tells how much longer <paramref name="address"/> is refused, or null when it is not.</summary>
    public TimeSpan? BlockedFor(IPAddress address)
    {
        var now = time.GetUtcNow();
        lock (_entries)
        {
            return _entries.TryGetValue(Normalize(address), out var entry) && entry.BlockedUntil > now ? entry.BlockedUntil - now : null;
        }
    }

    /// <summary>Counts a failure of <paramref name="address"/>.</summary>
    /// <returns>How long to wait before answering it.</returns>
    public TimeSpan Fail(IPAddress address, out bool nowBlocked)
    {
        var settings = config();
        var now = time.GetUtcNow();
        nowBlocked = false;
        lock (_entries)
        {
            address = Normalize(address);
            if (!_entries.TryGetValue(address, out var entry) || now - entry.WindowStart > settings.FailureWindow)
            {
                if (_entries.Count >= MaxAddresses)
                {
                    Trim(now, settings);
                }

                entry = new Entry { WindowStart = now };
                _entries[address] = entry;
            }

            entry.Failures++;
            entry.Last = now;
            if (entry.Failures >= settings.BlockAfterFailures)
            {
                entry.BlockedUntil = now + settings.BlockDuration;
                entry.Failures = 0;
                entry.WindowStart = now;
                nowBlocked = true;
                return TimeSpan.Zero;
            }

            var over = entry.Failures - settings.SlowAfterFailures;
            return over <= 0 ? TimeSpan.Zero : TimeSpan.FromSeconds(Math.Min(over, MaxDelay.TotalSeconds));
        }
    }

    private void Trim(DateTimeOffset now, AuthConfig settings)
    {
        foreach (var (address, entry) in _entries.ToArray())
        {
            if (entry.BlockedUntil <= now && now - entry.WindowStart > settings.FailureWindow)
            {
                _entries.Remove(address);
            }
        }

        if (_entries.Count >= MaxAddresses)
        {
            foreach (var (address, _) in _entries.OrderBy(e => e.Value.BlockedUntil > now).ThenBy(e => e.Value.Last).Take(_entries.Count - (MaxAddresses * 3 / 4)).ToArray())
            {
                _entries.Remove(address);
            }
        }
    }

    private static IPAddress Normalize(IPAddress address) => address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address;

    private sealed class Entry
    {
        public DateTimeOffset WindowStart { get; set; }

        public DateTimeOffset Last { get; set; }

        public int Failures { get; set; }

        public DateTimeOffset BlockedUntil { get; set; }
    }
}

/// <summary>Stream name patterns: <c>*</c> matches any run of characters (slashes included), <c>?</c> one; case-insensitive like stream names.</summary>
internal static class Glob
{
    public static bool Matches(string pattern, string name)
    {
        int p = 0, n = 0, star = -1, mark = 0;
        while (n < name.Length)
        {
            if (p < pattern.Length && (pattern[p] == '?' || char.ToLowerInvariant(pattern[p]) == char.ToLowerInvariant(name[n])))
            {
                p++;
                n++;
            }
            else if (p < pattern.Length && pattern[p] == '*')
            {
                star = p++;
                mark = n;
            }
            else if (star >= 0)
            {
                p = star + 1;
                n = ++mark;
            }
            else
            {
                return false;
            }
        }

        while (p < pattern.Length && pattern[p] == '*')
        {
            p++;
        }

        return p == pattern.Length;
    }
}
