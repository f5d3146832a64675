using System.Net;
using CrnpCloud.Core;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace CrnpCloud.Edge;

/// <summary>
/// TCP-wrapper style access check (PROTOCOL.md section 6): a registration's source IP must match
/// AllowHosts and must not match DenyHosts. LOCAL means the subnets of this host's interfaces
/// (<see cref="InterfaceNetworks"/>), the configured LocalNetworks and the cluster networks the
/// operator publishes in the live settings; it is computed again at each options change, so a
/// change to any of them applies without a restart.
/// </summary>
internal sealed class HostAccessPolicy
{
    private readonly IOptionsMonitor<EdgeOptions> _options;
    private readonly InterfaceNetworks _interfaces;
    private readonly ILogger<HostAccessPolicy> _logger;
    private readonly Lock _lock = new();
    private volatile Rules _rules;

    internal HostAccessPolicy(IOptionsMonitor<EdgeOptions> options, InterfaceNetworks interfaces, ILogger<HostAccessPolicy> logger)
    {
        _options = options;
        _interfaces = interfaces;
        _logger = logger;
        _rules = Rules.From(options.CurrentValue, interfaces);
        options.OnChange(Rebuild);
    }

    public bool IsAllowed(IPAddress source)
    {
        var ip = source.IsIPv4MappedToIPv6 ? source.MapToIPv4() : source;
        var rules = _rules;
        return rules.Allow.Matches(ip) && !rules.Deny.Matches(ip);
    }

    private void Rebuild(EdgeOptions options)
    {
        lock (_lock)
        {
            var before = _rules.Cluster;
            _rules = Rules.From(options, _interfaces);
            if (!before.SequenceEqual(_rules.Cluster))
            {
                EdgeLog.ClusterNetworksApplied(_logger, _rules.Cluster.Count, string.Join(',', _rules.Cluster));
            }
        }
    }

    private sealed record Rules(HostSet Allow, HostSet Deny, IReadOnlyList<IPNetwork> Cluster)
    {
        public static Rules From(EdgeOptions options, InterfaceNetworks interfaces)
        {
            var local = LocalNetworks(options, interfaces);
            return new Rules(HostSet.Parse(options.AllowHosts, local), HostSet.Parse(options.DenyHosts, local), Parse(options.ClusterNetworks));
        }

        public static IReadOnlyList<IPNetwork> LocalNetworks(EdgeOptions options, InterfaceNetworks interfaces) =>
            [.. interfaces.Read(), .. Parse(HostList.Split(options.LocalNetworks)), .. Parse(options.ClusterNetworks)];

        private static List<IPNetwork> Parse(IEnumerable<string> entries)
        {
            var networks = new List<IPNetwork>();
            foreach (var entry in entries)
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
