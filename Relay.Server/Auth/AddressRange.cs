using System.Net;

namespace Relay.Server.Auth;

/// <summary>A client address range: <c>10.0.0.0/8</c>, <c>fd00::/8</c> or one address. IPv4-mapped IPv6 clients match IPv4 ranges.</summary>
internal static class AddressRange
{
    public static bool TryParse(string text, out IPNetwork range)
    {
        if (IPNetwork.TryParse(text, out range))
        {
            return true;
        }

        if (IPAddress.TryParse(text, out var address))
        {
            range = new IPNetwork(address, address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork ? 32 : 128);
            return true;
        }

        return false;
    }

    /// <summary>Tells whether <paramref name="address"/> is in one of <paramref name="ranges"/> (an empty list allows every address).</summary>
    public static bool Allows(IReadOnlyList<IPNetwork> ranges, IPAddress address)
    {
        if (ranges.Count == 0)
        {
            return true;
        }

        var plain = address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address;
        foreach (var range in ranges)
        {
            if (range.Contains(plain))
            {
                return true;
            }
        }

        return false;
    }
}
