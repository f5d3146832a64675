using System.ComponentModel.DataAnnotations;
using CrnpCloud.Core;

namespace CrnpCloud.Operator;

/// <summary>Settings of the operator, section <c>Crnp:Operator</c>.</summary>
internal sealed class OperatorOptions
{
    public const string Section = "Crnp:Operator";

    /// <summary>Path of a kubeconfig; empty = in-cluster service account, else KUBECONFIG / ~/.kube/config.</summary>
    public string Kubeconfig { get; set; } = "";

    /// <summary>Namespace of the Lease and of the CrnpServer; empty = the pod's (POD_NAMESPACE), else <c>default</c>.</summary>
    public string Namespace { get; set; } = "";

    /// <summary>Name of the coordination.k8s.io Lease the replicas compete for.</summary>
    [Required]
    public string LeaseName { get; set; } = "crnpcloud-operator";

    /// <summary>This replica's identity in the Lease; empty = POD_NAME, else host name and process id.</summary>
    public string Identity { get; set; } = "";

    /// <summary>How long a Lease holds without renewal; a dead leader is replaced after at most this.</summary>
    [DurationRange("1s", "10m")]
    public TimeSpan LeaseDuration { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>A leader that has not renewed within this stops reconciling; must be below LeaseDuration.</summary>
    [DurationRange("500ms", "10m")]
    public TimeSpan RenewDeadline { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How often candidates try to acquire and the leader renews (jittered by up to 20%).</summary>
    [DurationRange("100ms", "1m")]
    public TimeSpan RetryPeriod { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>Name of the CrnpServer (in <see cref="Namespace"/>) whose settings apply; others are reported as ignored.</summary>
    [Required]
    public string ServerName { get; set; } = "crnpcloud";

    /// <summary>Namespace whose CrnpClients are reconciled; empty = all namespaces.</summary>
    public string WatchNamespace { get; set; } = "";

    /// <summary>
    /// How often every CrnpClient is looked at again, and the least time between two writes of its
    /// delivery figures (backlog, last delivery, failures) to its status; nothing is written when
    /// nothing changed.
    /// </summary>
    [DurationRange("100ms", "1h")]
    public TimeSpan StatusInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>How often the leader reads the delivery pool's new removals (a cursor over the store's record).</summary>
    [DurationRange("50ms", "10m")]
    public TimeSpan RemovalPollInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// Most declared clients (CrnpClients) with per-client metric series; with more, those with the
    /// largest backlog. Dynamic (TCP) clients never get per-client series.
    /// </summary>
    [Range(SettingLimits.ClientMetricsLimitMin, SettingLimits.ClientMetricsLimitMax)]
    public int ClientMetricsLimit { get; set; } = 20;

    /// <summary>Server-side timeout of one watch request; the watch is then resumed from its last resourceVersion.</summary>
    [DurationRange("1s", "1h")]
    public TimeSpan WatchTimeout { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Reconciles run at once (different objects; one object is never reconciled twice at once).</summary>
    [Range(1, 64)]
    public int Workers { get; set; } = 2;

    /// <summary>Publish Node readiness changes as EC_Cluster/ESC_cluster_membership events.</summary>
    public bool NodeEvents { get; set; } = true;

    /// <summary>
    /// Publish every Node's pod CIDRs and addresses as the cluster networks the edge counts as LOCAL;
    /// false clears them (LOCAL is then the edge's interfaces and its LocalNetworks only).
    /// </summary>
    public bool ClusterNetworks { get; set; } = true;

    /// <summary>
    /// Publish Deployments and StatefulSets labelled <c>crnp.io/resource-group</c> as resource groups
    /// (ESC_cluster_rg_state, ESC_cluster_r_state). Watches the labelled workloads and every Pod.
    /// </summary>
    public bool ResourceGroups { get; set; } = true;

    /// <summary>
    /// How long workload and Pod changes are gathered before the groups are evaluated once (a rollout's
    /// burst of Pod updates becomes one evaluation; an event goes out only where a list changed).
    /// </summary>
    [DurationRange("0s", "1m")]
    public TimeSpan ResourceGroupDebounce { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Address of the ingest gRPC service the membership events are published to.</summary>
    public string IngestAddress { get; set; } = "http://localhost:9445";

    /// <summary>Bearer token for the ingest service, when it requires one (a publish token is enough).</summary>
    public string IngestToken { get; set; } = "";

    public string ResolvedNamespace() =>
        Namespace.Length > 0 ? Namespace : Environment.GetEnvironmentVariable("POD_NAMESPACE") is { Length: > 0 } ns ? ns : "default";
}
