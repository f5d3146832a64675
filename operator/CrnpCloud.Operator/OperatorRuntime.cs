using CrnpCloud.Core;
using CrnpCloud.Operator.Kube;
using k8s;
using k8s.Models;
using Microsoft.Extensions.Logging;

namespace CrnpCloud.Operator;

/// <summary>
/// What runs while this replica leads: watches (CrnpClients, CrnpServers, Nodes, labelled Deployments
/// and StatefulSets, Pods), one de-duplicating work queue and its workers, and a periodic refresh of
/// every CrnpClient's status. Nodes feed two keys: membership events and the cluster networks;
/// workloads and Pods feed one, the resource groups, added at most once per debounce period. The delivery
/// pool's removals (<see cref="RemovalFeed"/>) queue the CrnpClients that registered the removed
/// address. All of it stops when the leading token is cancelled, and nothing is written after that.
/// </summary>
internal sealed partial class OperatorRuntime(
    IKubernetes kube,
    OperatorOptions options,
    ClientReconciler clients,
    RemovalFeed removals,
    SettingsReconciler settings,
    MembershipPublisher membership,
    ClusterNetworkPublisher networks,
    ResourceGroupPublisher groups,
    OperatorTelemetry telemetry,
    TimeProvider time,
    ILoggerFactory loggers)
{
    private const string SettingsKey = "settings";
    private const string MembershipKey = "membership";
    private const string NetworksKey = "networks";
    private const string GroupsKey = "resourcegroups";
    private const string ClientPrefix = "client:";
    private readonly ILogger _logger = loggers.CreateLogger<OperatorRuntime>();

    private Reflector<V1Deployment, V1DeploymentList>? _deploymentWatch;
    private Reflector<V1StatefulSet, V1StatefulSetList>? _statefulSetWatch;
    private Reflector<V1Pod, V1PodList>? _podWatch;
    private int _groupsScheduled;
    private volatile bool _groupsReady;

    public async Task RunAsync(CancellationToken leading)
    {
        var queue = new WorkQueue(time);
        var timeout = (int)options.WatchTimeout.TotalSeconds;
        var watchNs = options.WatchNamespace;
        var clientWatch = new Reflector<CrnpClient, object>("crnpclients",
            (rv, watch, ct) => watchNs.Length == 0
                ? kube.CustomObjects.ListClusterCustomObjectWithHttpMessagesAsync(CrnpApi.Group, CrnpApi.Version, CrnpApi.ClientPlural,
                    allowWatchBookmarks: watch ? true : null, resourceVersion: rv, timeoutSeconds: watch ? timeout : null, watch: watch, cancellationToken: ct)
                : kube.CustomObjects.ListNamespacedCustomObjectWithHttpMessagesAsync(CrnpApi.Group, CrnpApi.Version, watchNs, CrnpApi.ClientPlural,
                    allowWatchBookmarks: watch ? true : null, resourceVersion: rv, timeoutSeconds: watch ? timeout : null, watch: watch, cancellationToken: ct),
            _logger, time);
        var serverWatch = new Reflector<CrnpServer, object>("crnpservers",
            (rv, watch, ct) => kube.CustomObjects.ListNamespacedCustomObjectWithHttpMessagesAsync(CrnpApi.Group, CrnpApi.Version, options.ResolvedNamespace(), CrnpApi.ServerPlural,
                allowWatchBookmarks: watch ? true : null, resourceVersion: rv, timeoutSeconds: watch ? timeout : null, watch: watch, cancellationToken: ct),
            _logger, time);
        var nodeWatch = options.NodeEvents || options.ClusterNetworks
            ? new Reflector<V1Node, V1NodeList>("nodes",
                (rv, watch, ct) => kube.CoreV1.ListNodeWithHttpMessagesAsync(
                    allowWatchBookmarks: watch ? true : null, resourceVersion: rv, timeoutSeconds: watch ? timeout : null, watch: watch, cancellationToken: ct),
                _logger, time)
            : null;
        if (options.ResourceGroups)
        {
            // Only opted-in workloads are listed (label selector at the API server); Pods all, since
            // the group's pods are found by the workload's own selector, not by a label of ours.
            _deploymentWatch = new Reflector<V1Deployment, V1DeploymentList>("deployments",
                (rv, watch, ct) => kube.AppsV1.ListDeploymentForAllNamespacesWithHttpMessagesAsync(
                    allowWatchBookmarks: watch ? true : null, labelSelector: ResourceGroupStates.Label, resourceVersion: rv,
                    timeoutSeconds: watch ? timeout : null, watch: watch, cancellationToken: ct),
                _logger, time);
            _statefulSetWatch = new Reflector<V1StatefulSet, V1StatefulSetList>("statefulsets",
                (rv, watch, ct) => kube.AppsV1.ListStatefulSetForAllNamespacesWithHttpMessagesAsync(
                    allowWatchBookmarks: watch ? true : null, labelSelector: ResourceGroupStates.Label, resourceVersion: rv,
                    timeoutSeconds: watch ? timeout : null, watch: watch, cancellationToken: ct),
                _logger, time);
            _podWatch = new Reflector<V1Pod, V1PodList>("pods",
                (rv, watch, ct) => kube.CoreV1.ListPodForAllNamespacesWithHttpMessagesAsync(
                    allowWatchBookmarks: watch ? true : null, resourceVersion: rv,
                    timeoutSeconds: watch ? timeout : null, watch: watch, cancellationToken: ct),
                _logger, time);
            _groupsScheduled = 0;
            _groupsReady = false;
            void Schedule()
            {
                if (!_groupsReady)
                {
                    return; // before the first lists: the first evaluation comes when they are in
                }
                // Debounce: the first change schedules one evaluation after the period; later changes
                // until it starts ride along.
                if (Interlocked.Exchange(ref _groupsScheduled, 1) == 0)
                {
                    queue.AddAfter(GroupsKey, options.ResourceGroupDebounce, leading);
                }
            }
            _deploymentWatch.Changed += _ => Schedule();
            _statefulSetWatch.Changed += _ => Schedule();
            _podWatch.Changed += key =>
            {
                // A Pod matters only in a namespace with a labelled workload.
                var ns = key.Split('/')[0];
                if (_deploymentWatch.Keys.Concat(_statefulSetWatch.Keys).Any(k => k.StartsWith(ns + "/", StringComparison.Ordinal)))
                {
                    Schedule();
                }
            };
            if (options.NodeEvents || options.ClusterNetworks)
            {
                nodeWatch!.Changed += _ => Schedule(); // a deleted Node leaves the groups' node lists
            }
        }

        clientWatch.Changed += key =>
        {
            queue.Add(ClientPrefix + key);
            queue.Add(SettingsKey); // retry overrides and Applied status
        };
        serverWatch.Changed += _ => queue.Add(SettingsKey);
        if (nodeWatch is not null)
        {
            nodeWatch.Changed += _ =>
            {
                if (options.NodeEvents)
                {
                    queue.Add(MembershipKey);
                }
                if (options.ClusterNetworks)
                {
                    queue.Add(NetworksKey); // coalesced: one pending entry however many Node events
                }
            };
        }

        var tasks = new List<Task> { clientWatch.RunAsync(leading), serverWatch.RunAsync(leading) };
        if (nodeWatch is not null)
        {
            tasks.Add(nodeWatch.RunAsync(leading));
        }
        if (_podWatch is not null)
        {
            tasks.Add(_deploymentWatch!.RunAsync(leading));
            tasks.Add(_statefulSetWatch!.RunAsync(leading));
            tasks.Add(_podWatch.RunAsync(leading));
        }

        // Reconcile only from a complete picture: wait for the first lists and the removals recorded so far.
        await Task.WhenAll(clientWatch.Synced, serverWatch.Synced, nodeWatch?.Synced ?? Task.CompletedTask).WaitAsync(leading).ConfigureAwait(false);
        clients.BeginTerm();
        await removals.BeginTermAsync(removal =>
        {
            var address = removal.Client.ToString();
            foreach (var key in clientWatch.Keys.Where(k => clientWatch.Get(k)?.Status?.RegisteredAddress == address))
            {
                queue.Add(ClientPrefix + key);
            }
        }, leading);
        tasks.Add(removals.RunAsync(leading));
        networks.BeginTerm();
        queue.Add(SettingsKey);
        if (_podWatch is not null)
        {
            // Apart, so that workloads or Pods that cannot be listed (RBAC of an older chart) hold up
            // only the resource groups.
            tasks.Add(StartGroupsAsync(queue, nodeWatch, leading));
        }
        queue.Add(NetworksKey); // also when publishing is off: then it clears what an earlier run wrote
        for (var i = 0; i < options.Workers; i++)
        {
            tasks.Add(WorkAsync(queue, clientWatch, serverWatch, nodeWatch, leading));
        }
        tasks.Add(RefreshAsync(queue, clientWatch, leading));
        try
        {
            await Task.WhenAll(tasks);
        }
        catch (OperationCanceledException) when (leading.IsCancellationRequested)
        {
        }
        finally
        {
            clients.BeginTerm(); // a follower exports no per-client series
        }
    }

    private async Task StartGroupsAsync(WorkQueue queue, Reflector<V1Node, V1NodeList>? nodeWatch, CancellationToken leading)
    {
        await Task.WhenAll(_deploymentWatch!.Synced, _statefulSetWatch!.Synced, _podWatch!.Synced, nodeWatch?.Synced ?? Task.CompletedTask)
            .WaitAsync(leading).ConfigureAwait(false);
        groups.BeginTerm();
        Interlocked.Exchange(ref _groupsScheduled, 1);
        _groupsReady = true;
        queue.Add(GroupsKey); // a new leader evaluates once (and publishes only what differs from the store)
    }

    private async Task RefreshAsync(WorkQueue queue, Reflector<CrnpClient, object> clientWatch, CancellationToken leading)
    {
        using var timer = new PeriodicTimer(options.StatusInterval, time);
        while (await timer.WaitForNextTickAsync(leading))
        {
            clients.Tick();
            foreach (var key in clientWatch.Keys)
            {
                queue.Add(ClientPrefix + key);
            }
        }
    }

    private async Task WorkAsync(WorkQueue queue, Reflector<CrnpClient, object> clientWatch, Reflector<CrnpServer, object> serverWatch,
        Reflector<V1Node, V1NodeList>? nodeWatch, CancellationToken leading)
    {
        var failures = new Dictionary<string, int>(StringComparer.Ordinal);
        while (!leading.IsCancellationRequested)
        {
            string key;
            try
            {
                key = await queue.TakeAsync(leading);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            var kind = key.StartsWith(ClientPrefix, StringComparison.Ordinal) ? "CrnpClient" : key;
            try
            {
                TimeSpan? again = null;
                if (key == SettingsKey)
                {
                    await settings.ReconcileAsync(serverWatch.Items, clientWatch.Items, leading);
                }
                else if (key == MembershipKey && nodeWatch is not null)
                {
                    await membership.ReconcileAsync(nodeWatch.Items, leading);
                }
                else if (key == GroupsKey && _podWatch is not null)
                {
                    Interlocked.Exchange(ref _groupsScheduled, 0); // changes from now on schedule another evaluation
                    again = await groups.ReconcileAsync(_deploymentWatch!.Items, _statefulSetWatch!.Items, _podWatch.Items,
                        nodeWatch?.Items.Select(n => n.Metadata.Name).ToHashSet(StringComparer.Ordinal), leading);
                }
                else if (key == NetworksKey)
                {
                    await networks.ReconcileAsync(options.ClusterNetworks && nodeWatch is not null ? nodeWatch.Items : [], leading);
                }
                else if (key.StartsWith(ClientPrefix, StringComparison.Ordinal))
                {
                    again = await clients.ReconcileAsync(key[ClientPrefix.Length..], clientWatch.Get(key[ClientPrefix.Length..]), leading);
                }
                failures.Remove(key);
                telemetry.Reconciled(kind, "ok");
                if (again is { } delay)
                {
                    queue.AddAfter(key, delay, leading);
                }
            }
            catch (OperationCanceledException) when (leading.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                // Conflicts, an unreachable store or ingest, API errors: try again with backoff.
                var n = failures[key] = failures.GetValueOrDefault(key) + 1;
                var delay = Backoff.Jittered(n, TimeSpan.FromMilliseconds(100), 10, TimeSpan.FromSeconds(30));
                telemetry.Reconciled(kind, Backoff.IsConflict(ex) ? "conflict" : "error");
                if (Backoff.IsConflict(ex) || ex is StoreUnavailableException)
                {
                    Retrying(_logger, key, ex.Message, delay);
                }
                else
                {
                    Failed(_logger, key, delay, ex);
                }
                queue.AddAfter(key, delay, leading);
            }
            finally
            {
                queue.Done(key);
            }
        }
    }

    [LoggerMessage(EventId = 1501, Level = LogLevel.Information, Message = "reconcile of {Key} will be retried in {Delay}: {Reason}")]
    private static partial void Retrying(ILogger logger, string key, string reason, TimeSpan delay);

    [LoggerMessage(EventId = 1502, Level = LogLevel.Error, Message = "reconcile of {Key} failed; retrying in {Delay}")]
    private static partial void Failed(ILogger logger, string key, TimeSpan delay, Exception exception);
}
