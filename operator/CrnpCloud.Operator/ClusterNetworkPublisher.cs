using CrnpCloud.Core;
using k8s.Models;
using Microsoft.Extensions.Logging;

namespace CrnpCloud.Operator;

/// <summary>
/// The Kubernetes cluster's networks -> <see cref="ServerSettings.ClusterNetworks"/>, which the edge
/// counts as LOCAL: every Node's <c>spec.podCIDRs</c> (and <c>spec.podCIDR</c>), and every
/// <c>InternalIP</c> and <c>ExternalIP</c> address as a host route (/32, /128). It writes through
/// <see cref="ISettingsStore.SetClusterNetworksAsync"/>, the store's part of the settings that only
/// this writer owns, so the <see cref="SettingsReconciler"/> and this never overwrite each other.
/// A write happens only when the set changes: Node status heartbeats find the same set and write
/// nothing (and the work queue coalesces a burst of Node events into one reconcile).
/// </summary>
internal sealed partial class ClusterNetworkPublisher(ISettingsStore store, ILogger<ClusterNetworkPublisher> logger)
{
    private static readonly string[] AddressTypes = ["InternalIP", "ExternalIP"];
    private readonly HashSet<string> _reportedInvalid = new(StringComparer.Ordinal);
    private IReadOnlyList<string>? _written;

    /// <summary>Forgets what this replica wrote before: another leader may have written since.</summary>
    public void BeginTerm()
    {
        _written = null;
        _reportedInvalid.Clear();
    }

    /// <param name="nodes">every Node; none (when publishing is off) clears the networks.</param>
    public async Task ReconcileAsync(IReadOnlyList<V1Node> nodes, CancellationToken leading)
    {
        var (networks, invalid) = Collect(nodes);
        foreach (var entry in invalid.Where(_reportedInvalid.Add))
        {
            Invalid(logger, entry);
        }

        _written ??= (await store.GetSettingsAsync(leading)).ClusterNetworks;
        if (_written.SequenceEqual(networks, StringComparer.Ordinal))
        {
            Unchanged(logger, networks.Count);
            return;
        }
        leading.ThrowIfCancellationRequested();
        await store.SetClusterNetworksAsync(networks, CancellationToken.None);
        _written = networks;
        Written(logger, networks.Count, string.Join(',', networks));
    }

    /// <summary>The networks of <paramref name="nodes"/>, normalised (host bits cleared), distinct and sorted; and what could not be read.</summary>
    internal static (IReadOnlyList<string> Networks, IReadOnlyList<string> Invalid) Collect(IEnumerable<V1Node> nodes)
    {
        var networks = new SortedSet<string>(StringComparer.Ordinal);
        var invalid = new List<string>();
        foreach (var node in nodes)
        {
            IEnumerable<string?> entries =
            [
                .. node.Spec?.PodCIDRs ?? [],
                node.Spec?.PodCIDR,
                .. (node.Status?.Addresses ?? []).Where(a => AddressTypes.Contains(a.Type, StringComparer.Ordinal)).Select(a => a.Address),
            ];
            foreach (var entry in entries.Where(e => !string.IsNullOrWhiteSpace(e)).Select(e => e!.Trim()))
            {
                if (HostList.TryParseNetwork(entry, out var network))
                {
                    networks.Add(network.Value.ToString());
                }
                else
                {
                    invalid.Add($"Node {node.Metadata?.Name}: '{entry}'");
                }
            }
        }
        return ([.. networks], invalid);
    }

    [LoggerMessage(EventId = 1701, Level = LogLevel.Information, Message = "cluster networks written: {Count} network(s), LOCAL at the edge includes them: {Networks}")]
    private static partial void Written(ILogger logger, int count, string networks);

    [LoggerMessage(EventId = 1703, Level = LogLevel.Debug, Message = "cluster networks unchanged ({Count}); nothing written")]
    private static partial void Unchanged(ILogger logger, int count);

    [LoggerMessage(EventId = 1702, Level = LogLevel.Warning, Message = "cluster networks: {Entry} is not a CIDR or an IP address; left out")]
    private static partial void Invalid(ILogger logger, string entry);
}
