using CrnpCloud.Core;
using CrnpCloud.Ingest.V1;
using Grpc.Core;
using k8s.Models;
using Microsoft.Extensions.Logging;

namespace CrnpCloud.Operator;

/// <summary>
/// Labelled workloads -> <c>EC_Cluster/ESC_cluster_rg_state</c> (<c>rg_name</c>, <c>node_list</c>,
/// <c>state_list</c>) and <c>EC_Cluster/ESC_cluster_r_state</c> (<c>r_name</c>, <c>rg_name</c>,
/// <c>node_list</c>, <c>state_list</c>) through the ingest gRPC API, as <see cref="MembershipPublisher"/>
/// does for Nodes. The states come from <see cref="ResourceGroupStates"/>. An event is published only
/// when its lists differ from the latest event of the same group or resource in the store (the store
/// keeps one per <c>rg_name</c>/<c>r_name</c>, see <c>services/CrnpCloud.Core/StateKey.cs</c>), so a new
/// leader publishes only what changed while no one led, and repeats nothing.
/// The nodes of a group are those its pods are bound to plus the nodes of its latest stored event
/// (where it was, now OFFLINE), less Nodes that no longer exist (when Nodes are watched).
/// A group whose workloads go (deleted or unlabelled) while this replica leads gets one event with
/// every node OFFLINE; a resource whose container goes likewise.
/// </summary>
internal sealed partial class ResourceGroupPublisher(
    IEventLog store,
    EventIngest.EventIngestClient ingest,
    OperatorOptions options,
    TimeProvider time,
    ILogger<ResourceGroupPublisher> logger)
{
    public const string Class = "EC_Cluster";
    public const string GroupSubclass = "ESC_cluster_rg_state";
    public const string ResourceSubclass = "ESC_cluster_r_state";

    // Groups seen in this leadership term: one that disappears gets its OFFLINE event.
    private readonly HashSet<string> _seen = new(StringComparer.Ordinal);

    /// <summary>Forgets the groups of an earlier term.</summary>
    public void BeginTerm() => _seen.Clear();

    /// <param name="nodes">the names of existing Nodes, or null when Nodes are not watched.</param>
    /// <returns>when to look again without a change (a stopping pod becoming overdue), or null.</returns>
    public async Task<TimeSpan?> ReconcileAsync(
        IReadOnlyList<V1Deployment> deployments,
        IReadOnlyList<V1StatefulSet> statefulSets,
        IReadOnlyList<V1Pod> pods,
        IReadOnlySet<string>? nodes,
        CancellationToken leading)
    {
        var now = time.GetUtcNow();
        var workloads = deployments.Select(ResourceGroupStates.FromDeployment)
            .Concat(statefulSets.Select(ResourceGroupStates.FromStatefulSet))
            .OfType<ResourceGroupStates.Workload>()
            .ToList();
        var latest = (await store.GetLatestAsync(leading)).Select(e => e.Event).Where(e => e.Class == Class).ToList();
        var latestGroups = latest.Where(e => e.Subclass == GroupSubclass)
            .GroupBy(e => Value(e, "rg_name"), StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.Last(), StringComparer.Ordinal);

        // Groups gone since they were seen in this term: no workload, every node OFFLINE.
        var current = workloads.Select(w => w.Group).ToHashSet(StringComparer.Ordinal);
        var gone = _seen.Where(g => !current.Contains(g)).ToList();
        IEnumerable<string> Earlier(string group) =>
            latestGroups.TryGetValue(group, out var e) ? Values(e, "node_list").Where(n => nodes is null || nodes.Contains(n)) : [];
        var states = ResourceGroupStates.Compute(workloads, pods, Earlier, now).ToList();
        foreach (var group in gone)
        {
            var earlier = Earlier(group).Order(StringComparer.Ordinal).ToList();
            states.Add(new ResourceGroupStates.GroupState(group, earlier, [.. earlier.Select(_ => "OFFLINE")],
                new Dictionary<string, IReadOnlyList<string>>(StringComparer.Ordinal)));
        }

        foreach (var group in states)
        {
            _seen.Add(group.Name);
            if (group.Nodes.Count == 0)
            {
                continue; // never on a node: nothing to say yet
            }
            if (!latestGroups.TryGetValue(group.Name, out var stored) || !SameLists(stored, group.Nodes, group.States))
            {
                await PublishAsync(GroupSubclass, [("rg_name", [group.Name])], group.Nodes, group.States, leading);
                Published(logger, GroupSubclass, group.Name, string.Join(',', group.Nodes), string.Join(',', group.States));
            }

            // Resources: the group's containers now, and those it had (their latest event), now OFFLINE.
            var resources = new Dictionary<string, IReadOnlyList<string>>(group.Resources, StringComparer.Ordinal);
            foreach (var old in latest.Where(e => e.Subclass == ResourceSubclass && Value(e, "rg_name") == group.Name
                && Values(e, "state_list").Any(s => s != "OFFLINE")))
            {
                resources.TryAdd(Value(old, "r_name"), [.. group.Nodes.Select(_ => "OFFLINE")]);
            }
            foreach (var (name, list) in resources.OrderBy(r => r.Key, StringComparer.Ordinal))
            {
                var storedResource = latest.LastOrDefault(e => e.Subclass == ResourceSubclass && Value(e, "r_name") == name && Value(e, "rg_name") == group.Name);
                if (storedResource is null || !SameLists(storedResource, group.Nodes, list))
                {
                    await PublishAsync(ResourceSubclass, [("r_name", [name]), ("rg_name", [group.Name])], group.Nodes, list, leading);
                    Published(logger, ResourceSubclass, name, string.Join(',', group.Nodes), string.Join(',', list));
                }
            }
        }
        foreach (var group in gone)
        {
            _seen.Remove(group); // its OFFLINE event is out (or it never had a node)
        }

        return ResourceGroupStates.NextStopDeadline(pods, now) is { } next ? next - now + TimeSpan.FromMilliseconds(100) : null;
    }

    private async Task PublishAsync(string subclass, (string Name, string[] Values)[] identity, IReadOnlyList<string> nodes, IReadOnlyList<string> states, CancellationToken leading)
    {
        var request = new PublishRequest { Event = new Event { Class = Class, Subclass = subclass } };
        foreach (var (name, values) in identity)
        {
            request.Event.Nvpairs.Add(new NameValue { Name = name, Values = { values } });
        }
        request.Event.Nvpairs.Add(new NameValue { Name = "node_list", Values = { nodes } });
        request.Event.Nvpairs.Add(new NameValue { Name = "state_list", Values = { states } });
        var headers = new Metadata();
        if (options.IngestToken.Length > 0)
        {
            headers.Add("authorization", "Bearer " + options.IngestToken);
        }
        leading.ThrowIfCancellationRequested();
        await ingest.PublishAsync(request, headers, deadline: time.GetUtcNow().UtcDateTime.AddSeconds(10), cancellationToken: leading);
    }

    private static bool SameLists(Protocol.CrnpEvent e, IReadOnlyList<string> nodes, IReadOnlyList<string> states) =>
        Values(e, "node_list").SequenceEqual(nodes, StringComparer.Ordinal) && Values(e, "state_list").SequenceEqual(states, StringComparer.Ordinal);

    private static string Value(Protocol.CrnpEvent e, string name) => Values(e, name).FirstOrDefault() ?? "";

    private static IEnumerable<string> Values(Protocol.CrnpEvent e, string name) =>
        e.NameValues.FirstOrDefault(p => p.Name == name)?.Values ?? (IEnumerable<string>)[];

    [LoggerMessage(EventId = 1801, Level = LogLevel.Information, Message = "{Subclass} published for {Name}: node_list={Nodes} state_list={States}")]
    private static partial void Published(ILogger logger, string subclass, string name, string nodes, string states);
}
