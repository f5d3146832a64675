using System.Text.Json.Nodes;
using CrnpCloud.Core;
using CrnpCloud.Delivery;
using CrnpCloud.FakeKube;
using CrnpCloud.Ingest;
using CrnpCloud.Testing;
using k8s;
using k8s.Models;

namespace CrnpCloud.Operator.Tests;

public sealed class ResourceGroupTests
{
    private const string Ns = "apps";
    private static readonly DateTimeOffset T0 = DateTimeOffset.UtcNow.AddMinutes(-5);

    [Fact]
    public async Task ALabelledDeployment_ReachesCrnpListeners_AsResourceGroupAndResourceStates()
    {
        await using var kube = await Kube.StartAsync();
        var store = new InMemoryStore();
        kube.Server.Put(ResourceKind.Nodes, Kube.Node("node-a", ready: true));
        kube.Server.Put(ResourceKind.Nodes, Kube.Node("node-b", ready: true));
        kube.Server.Put(ResourceKind.Deployments, KubeObjects.Workload("Deployment", Ns, "db", Group("db"), 2, "postgres", "metrics"));
        kube.Server.Put(ResourceKind.StatefulSets, KubeObjects.Workload("StatefulSet", Ns, "web", Group("web"), 1, "nginx"));
        kube.Server.Put(ResourceKind.Deployments, KubeObjects.Workload("Deployment", Ns, "other", new Dictionary<string, string>(), 1, "x"));
        kube.Server.Put(ResourceKind.Pods, KubeObjects.Pod(Ns, "db-1", "db", "node-a", "postgres", "metrics"));
        kube.Server.Put(ResourceKind.Pods, KubeObjects.Pod(Ns, "db-2", "db", "node-b", "postgres", "metrics"));
        kube.Server.Put(ResourceKind.Pods, KubeObjects.Pod(Ns, "web-0", "web", "node-a", "nginx"));
        kube.Server.Put(ResourceKind.Pods, KubeObjects.Pod(Ns, "other-1", "other", "node-b", "x"));
        kube.Server.PutStatus(ResourceKind.Pods, Ns, "web-0", KubeObjects.PodStatus(T0, T0.AddSeconds(5), new ContainerStatus("nginx", Ready: true)));

        await using var ingest = await ServiceHost.StartAsync(store, b => b.AddCrnpIngest(), a => a.MapCrnpIngest(), new Dictionary<string, string?>
        {
            ["Crnp:Ingest:Port"] = "0",
            ["Crnp:Ingest:ListenAddress"] = "127.0.0.1",
        });
        await using var worker = await WorkerHost.StartAsync(store, b => b.AddCrnpDelivery(), new Dictionary<string, string?>
        {
            ["Crnp:Delivery:LeaseTtl"] = "00:00:03",
            ["Crnp:Delivery:RescanInterval"] = "00:00:00.500",
        });
        await using var dbGroup = CrnpTestListener.Start();
        await using var webGroup = CrnpTestListener.Start();
        await using var postgres = CrnpTestListener.Start();
        await kube.StartOperatorAsync(store, extra: new Dictionary<string, string?>
        {
            ["Crnp:Operator:IngestAddress"] = $"http://127.0.0.1:{ingest.Port}",
            ["Crnp:Operator:ResourceGroupDebounce"] = "00:00:00.200",
        });

        // The pods are bound but not started: the group is PENDING_ONLINE on both nodes. The clients
        // register after it is published, so they learn it as CRNP's first event.
        await Eventually.TrueAsync(async () => (await store.GetLatestAsync()).Any(e => e.Event.Subclass == "ESC_cluster_r_state" && Nv(e.Event, "r_name") == "db.postgres"), "db is published");
        kube.Server.Put(Kube.Clients, Client("db-watcher", dbGroup, "ESC_cluster_rg_state", "rg_name", "db"));
        kube.Server.Put(Kube.Clients, Client("web-watcher", webGroup, "ESC_cluster_rg_state", "rg_name", "web"));
        kube.Server.Put(Kube.Clients, Client("postgres-watcher", postgres, "ESC_cluster_r_state", "r_name", "db.postgres"));
        await WaitForLast(dbGroup, "node-a,node-b / PENDING_ONLINE,PENDING_ONLINE");
        await WaitForLast(postgres, "node-a,node-b / STARTING,STARTING");
        await WaitForLast(webGroup, "node-a / ONLINE");

        // The kubelet starts the containers and they pass their readiness probes.
        kube.Server.PutStatus(ResourceKind.Pods, Ns, "db-1", KubeObjects.PodStatus(T0, T0.AddSeconds(5), new ContainerStatus("postgres", true), new ContainerStatus("metrics", true)));
        kube.Server.PutStatus(ResourceKind.Pods, Ns, "db-2", KubeObjects.PodStatus(T0, T0.AddSeconds(5), new ContainerStatus("postgres", true), new ContainerStatus("metrics", true)));
        await WaitForLast(dbGroup, "node-a,node-b / ONLINE,ONLINE");
        await WaitForLast(postgres, "node-a,node-b / ONLINE,ONLINE");

        // postgres on node-b fails its readiness probe (the pod was ready after it started).
        kube.Server.PutStatus(ResourceKind.Pods, Ns, "db-2", KubeObjects.PodStatus(T0, T0.AddSeconds(60), new ContainerStatus("postgres", false), new ContainerStatus("metrics", true)));
        await WaitForLast(dbGroup, "node-a,node-b / ONLINE,ONLINE_FAULTED");
        await WaitForLast(postgres, "node-a,node-b / ONLINE,MONITOR_FAILED");

        // Scaled to zero: the pods are deleted (graceful: stopping), then the kubelet removes them.
        var scaled = KubeObjects.Workload("Deployment", Ns, "db", Group("db"), 0, "postgres", "metrics");
        kube.Server.Put(ResourceKind.Deployments, scaled);
        kube.Server.Delete(ResourceKind.Pods, Ns, "db-1");
        kube.Server.Delete(ResourceKind.Pods, Ns, "db-2");
        await WaitForLast(dbGroup, "node-a,node-b / PENDING_OFFLINE,PENDING_OFFLINE");
        kube.Server.Delete(ResourceKind.Pods, Ns, "db-1", gracePeriodSeconds: 0);
        kube.Server.Delete(ResourceKind.Pods, Ns, "db-2", gracePeriodSeconds: 0);
        await WaitForLast(dbGroup, "node-a,node-b / OFFLINE,OFFLINE");
        await WaitForLast(postgres, "node-a,node-b / OFFLINE,OFFLINE");

        Assert.Equal(
            ["PENDING_ONLINE,PENDING_ONLINE", "ONLINE,ONLINE", "ONLINE,ONLINE_FAULTED", "PENDING_OFFLINE,PENDING_OFFLINE", "OFFLINE,OFFLINE"],
            dbGroup.Events.Select(e => States(e)));
        Assert.Equal(
            ["STARTING,STARTING", "ONLINE,ONLINE", "ONLINE,MONITOR_FAILED", "STOPPING,STOPPING", "OFFLINE,OFFLINE"],
            postgres.Events.Select(e => States(e)));
        Assert.All(dbGroup.Events, e => Assert.Equal(("EC_Cluster", "ESC_cluster_rg_state", "db", "SUNW", "rgm"), (e.Class, e.Subclass, Nv(e, "rg_name"), e.Vendor, e.Publisher)));
        Assert.All(postgres.Events, e => Assert.Equal(("ESC_cluster_r_state", "db.postgres", "db"), (e.Subclass, Nv(e, "r_name"), Nv(e, "rg_name"))));
        Assert.Equal(["node-a / ONLINE"], webGroup.Events.Select(Lists)); // none of db's changes
        Assert.DoesNotContain(await store.GetLatestAsync(), e => Nv(e.Event, "rg_name") == "other" || Nv(e.Event, "rg_name") == "");
        Assert.Contains(kube.Server.Requests, r => r.Resource == "deployments" && r.Verb == "watch");
        Assert.All(kube.Server.Requests, r => Assert.True(OperatorPermissions.Allows(r.Verb, r.Group, r.Resource, r.Subresource), $"{r.Verb} {r.Resource}"));
    }

    [Fact]
    public async Task ANewLeader_PublishesOnlyWhatChangedWhileNoOneLed()
    {
        await using var kube = await Kube.StartAsync();
        var store = new InMemoryStore();
        kube.Server.Put(ResourceKind.Nodes, Kube.Node("node-a", ready: true));
        kube.Server.Put(ResourceKind.Nodes, Kube.Node("node-b", ready: true));
        kube.Server.Put(ResourceKind.Deployments, KubeObjects.Workload("Deployment", Ns, "db", Group("db"), 1, "postgres"));
        kube.Server.Put(ResourceKind.Pods, KubeObjects.Pod(Ns, "db-1", "db", "node-a", "postgres"));
        kube.Server.PutStatus(ResourceKind.Pods, Ns, "db-1", KubeObjects.PodStatus(T0, T0.AddSeconds(5), new ContainerStatus("postgres", true)));
        await using var ingest = await ServiceHost.StartAsync(store, b => b.AddCrnpIngest(), a => a.MapCrnpIngest(), new Dictionary<string, string?>
        {
            ["Crnp:Ingest:Port"] = "0",
            ["Crnp:Ingest:ListenAddress"] = "127.0.0.1",
        });
        var extra = new Dictionary<string, string?>
        {
            ["Crnp:Operator:IngestAddress"] = $"http://127.0.0.1:{ingest.Port}",
            ["Crnp:Operator:ResourceGroupDebounce"] = "00:00:00.200",
        };
        var first = await kube.StartOperatorAsync(store, "op-a", extra);
        await Eventually.TrueAsync(async () => (await store.GetLatestAsync()).Count(e => e.Event.Class == "EC_Cluster") == 2, "the group and its resource are published");
        await first.DisposeAsync(); // stops cleanly and releases the Lease

        // While no one leads, the pod moves from node-a to node-b.
        kube.Server.Delete(ResourceKind.Pods, Ns, "db-1", gracePeriodSeconds: 0);
        kube.Server.Put(ResourceKind.Pods, KubeObjects.Pod(Ns, "db-2", "db", "node-b", "postgres"));
        kube.Server.PutStatus(ResourceKind.Pods, Ns, "db-2", KubeObjects.PodStatus(T0, T0.AddSeconds(5), new ContainerStatus("postgres", true)));
        var before = (await store.GetLatestAsync()).Max(e => e.Sequence);

        await kube.StartOperatorAsync(store, "op-b", extra);
        await Eventually.TrueAsync(async () => (await store.GetLatestAsync()).Any(e => e.Event.Subclass == "ESC_cluster_rg_state" && Lists(e.Event) == "node-a,node-b / OFFLINE,ONLINE"),
            "the new leader published where db is now (and OFFLINE where it was)");
        await Eventually.TrueAsync(async () => (await store.GetLatestAsync()).Any(e => e.Event.Subclass == "ESC_cluster_r_state" && Lists(e.Event) == "node-a,node-b / OFFLINE,ONLINE"), "resource too");
        var latest = await store.GetLatestAsync();
        Assert.Equal(2, latest.Count(e => e.Sequence > before)); // one group event, one resource event
    }

    [Theory]
    [InlineData(null, true, true, null, "ONLINE")]
    [InlineData(null, true, false, null, "ONLINE_NOT_MONITORED")]
    [InlineData(null, false, true, null, "STARTING")]
    [InlineData(null, false, true, 30, "MONITOR_FAILED")]
    [InlineData("CrashLoopBackOff", false, true, null, "START_FAILED")]
    [InlineData("ImagePullBackOff", false, true, null, "START_FAILED")]
    [InlineData("ContainerCreating", false, true, null, "STARTING")]
    public void ContainerStates_MapToResourceStates(string? waiting, bool ready, bool probed, int? readyChangedAfterStart, string expected)
    {
        var started = T0.UtcDateTime;
        var pod = new V1Pod
        {
            Metadata = new V1ObjectMeta { Name = "p", NamespaceProperty = Ns },
            Spec = new V1PodSpec { NodeName = "n", Containers = [new V1Container { Name = "c", ReadinessProbe = probed ? new V1Probe() : null }] },
            Status = new V1PodStatus
            {
                Phase = "Running",
                Conditions = [new V1PodCondition { Type = "Ready", Status = ready ? "True" : "False", LastTransitionTime = started.AddSeconds(readyChangedAfterStart ?? -1) }],
                ContainerStatuses = [new V1ContainerStatus
                {
                    Name = "c", Ready = ready, Image = "i", ImageID = "",
                    State = waiting is null ? new V1ContainerState { Running = new V1ContainerStateRunning { StartedAt = started } }
                        : new V1ContainerState { Waiting = new V1ContainerStateWaiting { Reason = waiting } },
                }],
            },
        };
        Assert.Equal(expected, ResourceGroupStates.ResourceState(pod, "c", T0));

        pod.Metadata.DeletionTimestamp = T0.UtcDateTime.AddSeconds(30);
        Assert.Equal("STOPPING", ResourceGroupStates.ResourceState(pod, "c", T0));
        Assert.Equal("STOP_FAILED", ResourceGroupStates.ResourceState(pod, "c", T0.AddSeconds(30) + ResourceGroupStates.StopOverdue + TimeSpan.FromSeconds(1)));
    }

    [Theory]
    [InlineData("ONLINE,ONLINE_NOT_MONITORED", "ONLINE")]
    [InlineData("ONLINE,STARTING", "PENDING_ONLINE")]
    [InlineData("STOPPING,OFFLINE", "PENDING_OFFLINE")]
    [InlineData("ONLINE,MONITOR_FAILED", "ONLINE_FAULTED")]
    [InlineData("START_FAILED,STARTING", "ONLINE_FAULTED")]
    [InlineData("STOP_FAILED,ONLINE", "ERROR_STOP_FAILED")]
    [InlineData("OFFLINE,OFFLINE", "OFFLINE")]
    public void ResourceStatesOnANode_MapToTheGroupState(string resources, string expected) =>
        Assert.Equal(expected, ResourceGroupStates.GroupOnNode(resources.Split(',')));

    [Fact]
    public async Task TheFakeApiServer_FiltersByLabelSelector_AsARealOneDoes()
    {
        await using var kube = await Kube.StartAsync();
        using var client = new Kubernetes(KubernetesClientConfiguration.BuildConfigFromConfigFile(kube.Kubeconfig));
        kube.Server.Put(ResourceKind.Deployments, KubeObjects.Workload("Deployment", Ns, "a", Group("db"), 1, "c"));
        kube.Server.Put(ResourceKind.Deployments, KubeObjects.Workload("Deployment", Ns, "b", new Dictionary<string, string>(), 1, "c"));
        var list = await client.AppsV1.ListDeploymentForAllNamespacesAsync(labelSelector: "crnp.io/resource-group");
        Assert.Equal(["a"], list.Items.Select(d => d.Metadata.Name));
        Assert.Equal(["b"], (await client.AppsV1.ListNamespacedDeploymentAsync(Ns, labelSelector: "!crnp.io/resource-group")).Items.Select(d => d.Metadata.Name));
        Assert.Equal(["a"], (await client.AppsV1.ListNamespacedDeploymentAsync(Ns, labelSelector: "crnp.io/resource-group in (db,web)")).Items.Select(d => d.Metadata.Name));

        // Watching from the list: b gaining the label is ADDED, a losing it DELETED.
        var seen = new List<(WatchEventType, string)>();
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        var response = client.AppsV1.ListDeploymentForAllNamespacesWithHttpMessagesAsync(labelSelector: "crnp.io/resource-group", resourceVersion: list.Metadata.ResourceVersion, watch: true, cancellationToken: stop.Token);
        kube.Server.Put(ResourceKind.Deployments, KubeObjects.Workload("Deployment", Ns, "b", Group("web"), 1, "c"));
        kube.Server.Put(ResourceKind.Deployments, KubeObjects.Workload("Deployment", Ns, "a", new Dictionary<string, string>(), 1, "c"));
#pragma warning disable CS0618
        await foreach (var (type, item) in response.WatchAsync<V1Deployment, V1DeploymentList>(cancellationToken: stop.Token))
        {
            seen.Add((type, item.Metadata.Name));
            if (seen.Count == 2)
            {
                break;
            }
        }
#pragma warning restore CS0618
        Assert.Equal([(WatchEventType.Added, "b"), (WatchEventType.Deleted, "a")], seen);

        // A Pod on a node is only marked by a delete; the kubelet's delete with grace 0 removes it.
        kube.Server.Put(ResourceKind.Pods, KubeObjects.Pod(Ns, "p", "a", "node-a", "c"));
        Assert.Equal("Pending", (string?)kube.Get(ResourceKind.Pods, Ns, "p")!["status"]!["phase"]);
        await client.CoreV1.DeleteNamespacedPodAsync("p", Ns);
        Assert.NotNull(kube.Get(ResourceKind.Pods, Ns, "p")!["metadata"]!["deletionTimestamp"]);
        await client.CoreV1.DeleteNamespacedPodAsync("p", Ns, gracePeriodSeconds: 0);
        Assert.Null(kube.Get(ResourceKind.Pods, Ns, "p"));
    }

    private static Dictionary<string, string> Group(string name) => new() { [ResourceGroupStates.Label] = name, ["app"] = name };

    private static JsonObject Client(string name, CrnpTestListener listener, string subclass, string nvName, string nvValue)
    {
        var client = Kube.Client(name, "127.0.0.1", listener.Address.Port);
        client["spec"]!["events"] = new JsonArray(new JsonObject
        {
            ["class"] = "EC_Cluster",
            ["subclass"] = subclass,
            ["nvpairs"] = new JsonArray(new JsonObject { ["name"] = nvName, ["values"] = new JsonArray(nvValue) }),
        });
        return client;
    }

    private static Task WaitForLast(CrnpTestListener listener, string lists) =>
        Eventually.TrueAsync(() => Task.FromResult(listener.Events.LastOrDefault() is { } e && Lists(e) == lists),
            $"the last event is {lists} (got: {string.Join(" | ", listener.Events.Select(Lists))})");

    private static string Nv(Protocol.CrnpEvent evt, string name) =>
        string.Join(",", evt.NameValues.FirstOrDefault(p => p.Name == name)?.Values ?? (IEnumerable<string>)[]);

    private static string States(Protocol.CrnpEvent evt) => Nv(evt, "state_list");

    private static string Lists(Protocol.CrnpEvent evt) => Nv(evt, "node_list") + " / " + Nv(evt, "state_list");
}
