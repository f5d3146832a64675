using CrnpCloud.Core;
using CrnpCloud.Operator.Kube;
using k8s;
using k8s.Models;
using Microsoft.Extensions.Logging;

namespace CrnpCloud.Operator;

/// <summary>
/// What runs while this replica leads: watches (CrnpClients, CrnpServers, Nodes), one de-duplicating
/// work queue and its workers, and a periodic refresh of every CrnpClient's status. Nodes feed two
/// keys: membership events and the cluster networks. All of it stops when the leading token is
/// cancelled, and nothing is written after that.
/// </summary>
internal sealed partial class OperatorRuntime(
    IKubernetes kube,
    OperatorOptions options,
    ClientReconciler clients,
    SettingsReconciler settings,
    MembershipPublisher membership,
    ClusterNetworkPublisher networks,
    OperatorTelemetry telemetry,
    TimeProvider time,
    ILoggerFactory loggers)
{
    private const string SettingsKey = "settings";
    private const string MembershipKey = "membership";
    private const string NetworksKey = "networks";
    private const string ClientPrefix = "client:";
    private readonly ILogger _logger = loggers.CreateLogger<OperatorRuntime>();

    /// <summary>The reflectors of the current leadership term (tests read them).</summary>
    internal Reflector<CrnpClient, object>? ClientWatch { get; private set; }

    internal Reflector<V1Node, V1NodeList>? NodeWatch { get; private set; }

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
        ClientWatch = clientWatch;
        NodeWatch = nodeWatch;

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

        // Reconcile only from a complete picture: wait for the first lists.
        await Task.WhenAll(clientWatch.Synced, serverWatch.Synced, nodeWatch?.Synced ?? Task.CompletedTask).WaitAsync(leading).ConfigureAwait(false);
        networks.BeginTerm();
        queue.Add(SettingsKey);
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
    }

    private async Task RefreshAsync(WorkQueue queue, Reflector<CrnpClient, object> clientWatch, CancellationToken leading)
    {
        using var timer = new PeriodicTimer(options.StatusInterval, time);
        while (await timer.WaitForNextTickAsync(leading))
        {
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
                else if (key == NetworksKey)
                {
                    await networks.ReconcileAsync(options.ClusterNetworks && nodeWatch is not null ? nodeWatch.Items : [], leading);
                }
                else if (key.StartsWith(ClientPrefix, StringComparison.Ordinal))
                {
                    again = await clients.ReconcileAsync(clientWatch.Get(key[ClientPrefix.Length..]), leading);
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
