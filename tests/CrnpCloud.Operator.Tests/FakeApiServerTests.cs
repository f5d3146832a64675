using System.Net;
using CrnpCloud.FakeKube;
using k8s;
using k8s.Autorest;
using k8s.Models;

namespace CrnpCloud.Operator.Tests;

/// <summary>The fixture behaves as the real API server does for what the operator relies on, seen through the real client.</summary>
public sealed class FakeApiServerTests
{
    [Fact]
    public async Task CrudConflictsAndNotFound_AsTheRealApiServer()
    {
        await using var kube = await Kube.StartAsync();
        using var client = new Kubernetes(KubernetesClientConfiguration.BuildConfigFromConfigFile(kube.Kubeconfig));
        var map = new V1ConfigMap { Metadata = new V1ObjectMeta { Name = "m", NamespaceProperty = "ns" }, Data = new Dictionary<string, string> { ["k"] = "1" } };

        var created = await client.CoreV1.CreateNamespacedConfigMapAsync(map, "ns");
        Assert.NotNull(created.Metadata.Uid);
        var again = await Assert.ThrowsAsync<HttpOperationException>(() => client.CoreV1.CreateNamespacedConfigMapAsync(map, "ns"));
        Assert.Equal(HttpStatusCode.Conflict, again.Response.StatusCode);

        var missing = await Assert.ThrowsAsync<HttpOperationException>(() => client.CoreV1.ReadNamespacedConfigMapAsync("nope", "ns"));
        Assert.Equal(HttpStatusCode.NotFound, missing.Response.StatusCode);

        created.Data["k"] = "2";
        var replaced = await client.CoreV1.ReplaceNamespacedConfigMapAsync(created, "m", "ns");
        Assert.True(long.Parse(replaced.Metadata.ResourceVersion, System.Globalization.CultureInfo.InvariantCulture) > long.Parse(created.Metadata.ResourceVersion, System.Globalization.CultureInfo.InvariantCulture));
        created.Data["k"] = "3"; // still carries the old resourceVersion
        var stale = await Assert.ThrowsAsync<HttpOperationException>(() => client.CoreV1.ReplaceNamespacedConfigMapAsync(created, "m", "ns"));
        Assert.Equal(HttpStatusCode.Conflict, stale.Response.StatusCode);
        Assert.Equal("2", (await client.CoreV1.ReadNamespacedConfigMapAsync("m", "ns")).Data["k"]);
    }

    [Fact]
    public async Task StatusSubresource_Generation_AndFinalizers()
    {
        await using var kube = await Kube.StartAsync();
        var obj = kube.Server.Put(Kube.Clients, Kube.Client("c", "127.0.0.1", 1));
        Assert.Null(obj["status"]);
        Assert.Equal(1L, (long)obj["metadata"]!["generation"]!);

        var status = kube.Server.PutStatus(Kube.Clients, "apps", "c", new System.Text.Json.Nodes.JsonObject { ["backlog"] = 5 });
        Assert.Equal(1L, (long)status["metadata"]!["generation"]!); // a status write is not a spec change

        var changed = kube.Get(Kube.Clients, "apps", "c")!;
        changed["spec"]!["port"] = 2;
        changed["status"] = new System.Text.Json.Nodes.JsonObject { ["backlog"] = 99 };
        changed["metadata"]!["finalizers"] = new System.Text.Json.Nodes.JsonArray("x/y");
        var written = kube.Server.Put(Kube.Clients, changed);
        Assert.Equal(2L, (long)written["metadata"]!["generation"]!);
        Assert.Equal(5, (int)written["status"]!["backlog"]!); // a main-resource write leaves status alone

        kube.Server.Delete(Kube.Clients, "apps", "c");
        var deleting = kube.Get(Kube.Clients, "apps", "c")!;
        Assert.NotNull(deleting["metadata"]!["deletionTimestamp"]);
        deleting["metadata"]!["finalizers"] = new System.Text.Json.Nodes.JsonArray();
        kube.Server.Put(Kube.Clients, deleting);
        Assert.Null(kube.Get(Kube.Clients, "apps", "c"));
    }

    [Fact]
    public async Task Watch_ResumesFromAResourceVersion_SendsBookmarks_AndAnswers410WhenExpired()
    {
        await using var kube = await Kube.StartAsync();
        kube.Server.BookmarkInterval = TimeSpan.FromMilliseconds(100);
        using var client = new Kubernetes(KubernetesClientConfiguration.BuildConfigFromConfigFile(kube.Kubeconfig));
        kube.Server.Put(ResourceKind.Nodes, Kube.Node("n1", ready: true));
        var list = await client.CoreV1.ListNodeAsync();
        kube.Server.Put(ResourceKind.Nodes, Kube.Node("n2", ready: true));

        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        var seen = new List<(WatchEventType, string?)>();
#pragma warning disable CS0618
        await foreach (var (type, node) in client.CoreV1.ListNodeWithHttpMessagesAsync(watch: true, resourceVersion: list.Metadata.ResourceVersion, allowWatchBookmarks: true, cancellationToken: cts.Token)
            .WatchAsync<V1Node, V1NodeList>(cancellationToken: cts.Token))
        {
            seen.Add((type, node.Metadata.Name));
            if (type == WatchEventType.Bookmark)
            {
                break;
            }
        }
        Assert.Equal([(WatchEventType.Added, "n2")], seen.Take(1));
        Assert.Equal(WatchEventType.Bookmark, seen[^1].Item1);

        kube.Server.CompactHistory();
        Exception? error = null;
        await foreach (var _ in client.CoreV1.ListNodeWithHttpMessagesAsync(watch: true, resourceVersion: list.Metadata.ResourceVersion, cancellationToken: cts.Token)
            .WatchAsync<V1Node, V1NodeList>(e => error = e, cts.Token))
        {
        }
#pragma warning restore CS0618
        Assert.Equal(410, Assert.IsType<KubernetesException>(error).Status.Code);
    }
}

/// <summary>RBAC: every call the operator made in a full scenario is one the declared permissions allow.</summary>
public sealed class PermissionTests
{
    [Fact]
    public async Task EveryRequestTheOperatorSends_IsCoveredByItsDeclaredPermissions()
    {
        await using var kube = await Kube.StartAsync();
        var store = new Core.InMemoryStore();
        kube.Server.Put(ResourceKind.Nodes, Kube.Node("n1", ready: true));
        await kube.StartOperatorAsync(store, extra: new Dictionary<string, string?> { ["Crnp:Operator:NodeEvents"] = "true", ["Crnp:Operator:IngestAddress"] = "http://127.0.0.1:1" });
        kube.Server.Put(Kube.Servers, Kube.ServerObject("crnpcloud", new System.Text.Json.Nodes.JsonObject { ["retryCount"] = 2 }));
        kube.Server.Put(Kube.Clients, Kube.Client("bad", "127.0.0.1", 1, retry: new System.Text.Json.Nodes.JsonObject { ["interval"] = "x" }));
        kube.Server.Put(Kube.Clients, Kube.Client("good", "127.0.0.1", 2));
        await Testing.Eventually.TrueAsync(() => Task.FromResult(kube.Condition(Kube.Clients, "apps", "good", "Registered") == "True"), "good is registered");
        await Testing.Eventually.TrueAsync(() => Task.FromResult(kube.Condition(Kube.Servers, "crnp", "crnpcloud", "Applied") == "True"), "server applied");
        await Testing.Eventually.TrueAsync(() => Task.FromResult(kube.Get(Kube.ConfigMaps, "crnp", "crnpcloud-operator-membership") is not null), "membership saved");
        kube.Server.PutStatus(ResourceKind.Nodes, null, "n1", Kube.NodeStatus(ready: false));
        await Testing.Eventually.TrueAsync(
            () => Task.FromResult(((string?)kube.Get(Kube.ConfigMaps, "crnp", "crnpcloud-operator-membership")?["data"]?["incarnations"])?.Contains("\"ready\":false", StringComparison.Ordinal) == true),
            "membership updated");
        kube.Server.Delete(Kube.Clients, "apps", "good");
        await Testing.Eventually.TrueAsync(() => Task.FromResult(kube.Get(Kube.Clients, "apps", "good") is null), "good is gone");

        var requests = kube.Server.Requests;
        var denied = requests.Where(r => !OperatorPermissions.Allows(r.Verb, r.Group, r.Resource, r.Subresource)).Distinct().ToList();
        Assert.Empty(denied);
        // And each declared permission was needed by this scenario (no dead grants).
        foreach (var p in OperatorPermissions.Required)
        {
            foreach (var verb in p.Verbs)
            {
                Assert.True(requests.Any(r => r.Group == p.Group && verb == r.Verb
                    && (r.Subresource is null ? r.Resource : $"{r.Resource}/{r.Subresource}") == p.Resource), $"{verb} {p.Resource} was never needed");
            }
        }
    }
}
