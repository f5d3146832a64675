using System.Net;
using System.Net.NetworkInformation;
using CrnpCloud.Core;
using Microsoft.Extensions.Options;

namespace CrnpCloud.Edge;

/// <summary>
/// TCP-wrapper style access check (CRNP-SPEC section 6): a registration's source IP must match
/// AllowHosts and must not match DenyHosts. LOCAL means the subnets of this host's interfaces plus
/// the configured LocalNetworks; it is computed once per options change.
/// </summary>
public sealed class HostAccessPolicy
{
    private readonly IOptionsMonitor<EdgeOptions> _options;
    private volatile Rules _rules;

    public HostAccessPolicy(IOptionsMonitor<EdgeOptions> options)
    {
        _options = options;
        _rules = Rules.From(options.CurrentValue);
        options.OnChange(o => _rules = Rules.From(o));
    }

    public bool IsAllowed(IPAddress source)
    {
        var ip = source.IsIPv4MappedToIPv6 ? source.MapToIPv4() : source;
        var rules = _rules;
        return rules.Allow.Matches(ip) && !rules.Deny.Matches(ip);
    }

    /// <summary>The networks LOCAL stands for right now (for logs and the admin API).</summary>
    public IReadOnlyList<IPNetwork> LocalNetworks() => Rules.LocalNetworks(_options.CurrentValue);

    private sealed record Rules(HostSet Allow, HostSet Deny)
    {
        public static Rules From(EdgeOptions options)
        {
            var local = LocalNetworks(options);
            return new Rules(HostSet.Parse(options.AllowHosts, local), HostSet.Parse(options.DenyHosts, local));
        }

        public static IReadOnlyList<IPNetwork> LocalNetworks(EdgeOptions options)
        {
            var networks = new List<IPNetwork>();
            foreach (var nic in NetworkInterface.GetAllNetworkInterfaces())
            {
                foreach (var unicast in nic.GetIPProperties().UnicastAddresses)
                {
                    networks.Add(new IPNetwork(HostList.Mask(unicast.Address, unicast.PrefixLength), unicast.PrefixLength));
                }
            }

            // Loopback is local whatever the interface list says (the whole of 127/8, and ::1).
            networks.Add(new IPNetwork(IPAddress.Parse("127.0.0.0"), 8));
            networks.Add(new IPNetwork(IPAddress.IPv6Loopback, 128));
            foreach (var entry in HostList.Split(options.LocalNetworks))
            {
                if (HostList.TryParseNetwork(entry, out var network))
                {
                    networks.Add(network.Value);
                }
            }
            return networks;
        }
    }

    private sealed record HostSet(bool All, IReadOnlyList<IPNetwork> Networks)
    {
        public static HostSet Parse(string value, IReadOnlyList<IPNetwork> local)
        {
            var all = false;
            var networks = new List<IPNetwork>();
            foreach (var entry in HostList.Split(value))
            {
                if (entry.Equals(HostList.All, StringComparison.OrdinalIgnoreCase))
                {
                    all = true;
                }
                else if (entry.Equals(HostList.Local, StringComparison.OrdinalIgnoreCase))
                {
                    networks.AddRange(local);
                }
                else if (HostList.TryParseNetwork(entry, out var network))
                {
                    networks.Add(network.Value);
                }
            }
            return new HostSet(all, networks);
        }

        public bool Matches(IPAddress ip) => All || Networks.Any(n => n.Contains(ip));
    }
}
