using k8s.Models;

namespace CrnpCloud.Operator;

/// <summary>
/// Workloads as Sun Cluster resource groups: the pure part (no I/O), so every row of the mapping
/// table in <c>operator/README.md</c> is a function of the objects and the time.
/// A Deployment or StatefulSet labelled <c>crnp.io/resource-group: NAME</c> is (part of) the
/// resource group NAME; each container of its pod template is a resource named <c>NAME.CONTAINER</c>.
/// The group's pods are those in its namespace that its <c>spec.selector</c> selects; a pod counts on
/// the node it is bound to (<c>spec.nodeName</c>), an unscheduled pod on none.
/// </summary>
internal static class ResourceGroupStates
{
    public const string Label = "crnp.io/resource-group";

    /// <summary>A pod whose deletion is this far past its <c>deletionTimestamp</c> (now + grace period) failed to stop.</summary>
    public static readonly TimeSpan StopOverdue = TimeSpan.FromSeconds(15);

    // Container waiting reasons that mean the kubelet cannot start it (not merely "not yet").
    private static readonly HashSet<string> StartFailures = new(StringComparer.Ordinal)
    {
        "CrashLoopBackOff", "ErrImagePull", "ImagePullBackOff", "InvalidImageName",
        "CreateContainerConfigError", "CreateContainerError", "RunContainerError",
    };

    /// <summary>Per node, which state wins when several pods of the group run there (earlier wins).</summary>
    private static readonly string[] NodePrecedence =
        ["STOP_FAILED", "START_FAILED", "MONITOR_FAILED", "ONLINE", "ONLINE_NOT_MONITORED", "STARTING", "STOPPING", "OFFLINE"];

    /// <summary>One labelled Deployment or StatefulSet.</summary>
    public sealed record Workload(string Namespace, string Name, string Group, V1LabelSelector? Selector, IReadOnlyList<string> Containers);

    /// <summary>What one group looks like now: its nodes (sorted), its state there, and each resource's.</summary>
    public sealed record GroupState(string Name, IReadOnlyList<string> Nodes, IReadOnlyList<string> States, IReadOnlyDictionary<string, IReadOnlyList<string>> Resources);

    public static Workload? FromDeployment(V1Deployment d) =>
        From(d.Metadata, d.Spec?.Selector, d.Spec?.Template);

    public static Workload? FromStatefulSet(V1StatefulSet s) =>
        From(s.Metadata, s.Spec?.Selector, s.Spec?.Template);

    private static Workload? From(V1ObjectMeta meta, V1LabelSelector? selector, V1PodTemplateSpec? template) =>
        meta.Labels?.TryGetValue(Label, out var group) == true && group.Length > 0
            ? new Workload(meta.NamespaceProperty ?? "", meta.Name, group, selector,
                [.. (template?.Spec?.Containers ?? []).Select(c => c.Name)])
            : null;

    public static string ResourceName(string group, string container) => group + "." + container;

    /// <summary>
    /// Every group of <paramref name="workloads"/> (several workloads with one label value form one
    /// group) on the nodes its pods are bound to plus <paramref name="earlierNodes"/> (where it was:
    /// OFFLINE there now), with each resource on the same nodes in the same order.
    /// </summary>
    public static IReadOnlyList<GroupState> Compute(
        IEnumerable<Workload> workloads,
        IReadOnlyList<V1Pod> pods,
        Func<string, IEnumerable<string>> earlierNodes,
        DateTimeOffset now)
    {
        var result = new List<GroupState>();
        foreach (var group in workloads.GroupBy(w => w.Group, StringComparer.Ordinal).OrderBy(g => g.Key, StringComparer.Ordinal))
        {
            var containers = group.SelectMany(w => w.Containers).Distinct(StringComparer.Ordinal).OrderBy(c => c, StringComparer.Ordinal).ToList();
            var members = pods.Where(p => group.Any(w => w.Namespace == p.Metadata.NamespaceProperty && Selects(w.Selector, p.Metadata.Labels)))
                .Where(p => !string.IsNullOrEmpty(p.Spec?.NodeName))
                .ToList();
            var nodes = members.Select(p => p.Spec.NodeName).Concat(earlierNodes(group.Key))
                .Distinct(StringComparer.Ordinal).OrderBy(n => n, StringComparer.Ordinal).ToList();
            var resources = new Dictionary<string, IReadOnlyList<string>>(StringComparer.Ordinal);
            foreach (var container in containers)
            {
                resources[ResourceName(group.Key, container)] = [.. nodes.Select(node =>
                    OnNode(members.Where(p => p.Spec.NodeName == node).Select(p => ResourceState(p, container, now))))];
            }
            var states = nodes.Select((_, i) => GroupOnNode(resources.Values.Select(r => r[i]))).ToList();
            result.Add(new GroupState(group.Key, nodes, states, resources));
        }
        return result;
    }

    /// <summary>The state of one container of one pod (the resource's instance in that pod).</summary>
    public static string ResourceState(V1Pod pod, string container, DateTimeOffset now)
    {
        var status = pod.Status?.ContainerStatuses?.FirstOrDefault(c => c.Name == container);
        if (pod.Metadata.DeletionTimestamp is { } deadline)
        {
            if (status?.State?.Terminated is not null)
            {
                return "OFFLINE";
            }
            return now > new DateTimeOffset(DateTime.SpecifyKind(deadline, DateTimeKind.Utc)) + StopOverdue ? "STOP_FAILED" : "STOPPING";
        }
        if (pod.Status?.Phase is "Succeeded" or "Failed")
        {
            return "OFFLINE";
        }
        if (pod.Spec?.Containers?.Any(c => c.Name == container) != true)
        {
            return "OFFLINE"; // e.g. a pod of an older template without this container
        }
        if (status?.State?.Running is { } running)
        {
            if (status.Ready)
            {
                var probed = pod.Spec!.Containers.First(c => c.Name == container).ReadinessProbe is not null;
                return probed ? "ONLINE" : "ONLINE_NOT_MONITORED";
            }
            // Not ready: if the pod's readiness last changed after this container started, it was
            // ready in this run and failed its probe; otherwise it has not been ready yet.
            var readyChanged = pod.Status!.Conditions?.FirstOrDefault(c => c.Type == "Ready")?.LastTransitionTime;
            return readyChanged is { } changed && running.StartedAt is { } started && changed > started ? "MONITOR_FAILED" : "STARTING";
        }
        if (status?.State?.Waiting?.Reason is { } reason && StartFailures.Contains(reason))
        {
            return "START_FAILED";
        }
        if (status?.State?.Terminated is { ExitCode: not 0 })
        {
            return "START_FAILED";
        }
        return "STARTING"; // pending, pulling, created, or terminated and about to be restarted
    }

    /// <summary>A resource on one node: no pod there is OFFLINE; several pods, the first of <see cref="NodePrecedence"/>.</summary>
    public static string OnNode(IEnumerable<string> podStates)
    {
        var states = podStates.ToList();
        return NodePrecedence.FirstOrDefault(states.Contains) ?? "OFFLINE";
    }

    /// <summary>The group on one node, from its resources' states there.</summary>
    public static string GroupOnNode(IEnumerable<string> resourceStates)
    {
        var states = resourceStates.ToHashSet(StringComparer.Ordinal);
        return states.Contains("STOP_FAILED") ? "ERROR_STOP_FAILED"
            : states.Contains("START_FAILED") || states.Contains("MONITOR_FAILED") ? "ONLINE_FAULTED"
            : states.Contains("STARTING") ? "PENDING_ONLINE"
            : states.Contains("STOPPING") ? "PENDING_OFFLINE"
            : states.Contains("ONLINE") || states.Contains("ONLINE_NOT_MONITORED") ? "ONLINE"
            : "OFFLINE";
    }

    /// <summary>Whether a workload's <c>spec.selector</c> selects these labels (an empty or absent selector selects nothing).</summary>
    public static bool Selects(V1LabelSelector? selector, IDictionary<string, string>? labels)
    {
        if (selector is null || ((selector.MatchLabels?.Count ?? 0) == 0 && (selector.MatchExpressions?.Count ?? 0) == 0))
        {
            return false;
        }
        labels ??= new Dictionary<string, string>();
        foreach (var (key, value) in selector.MatchLabels ?? new Dictionary<string, string>())
        {
            if (!labels.TryGetValue(key, out var v) || v != value)
            {
                return false;
            }
        }
        foreach (var e in selector.MatchExpressions ?? [])
        {
            var has = labels.TryGetValue(e.Key, out var v);
            var ok = e.OperatorProperty switch
            {
                "In" => has && (e.Values ?? []).Contains(v!),
                "NotIn" => !has || !(e.Values ?? []).Contains(v!),
                "Exists" => has,
                "DoesNotExist" => !has,
                _ => false,
            };
            if (!ok)
            {
                return false;
            }
        }
        return true;
    }

    /// <summary>When the earliest pod still stopping becomes overdue (STOP_FAILED), if any.</summary>
    public static DateTimeOffset? NextStopDeadline(IEnumerable<V1Pod> pods, DateTimeOffset now) =>
        pods.Where(p => p.Metadata.DeletionTimestamp is not null)
            .Select(p => new DateTimeOffset(DateTime.SpecifyKind(p.Metadata.DeletionTimestamp!.Value, DateTimeKind.Utc)) + StopOverdue)
            .Where(t => t >= now)
            .Order()
            .Cast<DateTimeOffset?>()
            .FirstOrDefault();
}
