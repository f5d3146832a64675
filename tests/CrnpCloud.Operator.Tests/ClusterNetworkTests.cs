using System.Net;
using System.Text.Json.Nodes;
using CrnpCloud.Core;
using CrnpCloud.Edge;
using CrnpCloud.FakeKube;
using CrnpCloud.Protocol;
using CrnpCloud.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace CrnpCloud.Operator.Tests;

/// <summary>Nodes' pod CIDRs and addresses -> the live settings' ClusterNetworks -> LOCAL at a running edge.</summary>
public sealed class ClusterNetworkTests
{
    private static readonly ResourceKind Nodes = ResourceKind.Nodes;

    private static async Task<IReadOnlyList<string>> NetworksAsync(ISettingsStore store) => (await store.GetSettingsAsync()).ClusterNetworks;

    private static Task UntilNetworksAsync(ISettingsStore store, string[] expected, string what) =>
        Eventually.TrueAsync(async () => (await NetworksAsync(store)).SequenceEqual(expected), what);

    private static int Count(WorkerHost op, string message) => op.Logs.Entries.Count(e => e.Message.StartsWith(message, StringComparison.Ordinal));

    [Fact]
    public async Task NodePodCidrsAndAddresses_ReachTheStore_NewNodesWithoutARestart_HeartbeatsWriteNothing()
    {
        await using var kube = await Kube.StartAsync();
        var store = new InMemoryStore();
        kube.Server.Put(Nodes, KubeObjects.Node("node-a", true, ["10.244.0.0/24", "fd00:10:244::/64"],
            ("InternalIP", "192.168.1.10"), ("ExternalIP", "203.0.113.5"), ("Hostname", "node-a"), ("InternalIP", "fd00::a")));
        var op = await kube.StartOperatorAsync(store, extra: new Dictionary<string, string?>
        {
            ["Logging:LogLevel:CrnpCloud.Operator.ClusterNetworkPublisher"] = "Debug", // "unchanged" says a heartbeat was reconciled
        });

        await UntilNetworksAsync(store, ["10.244.0.0/24", "192.168.1.10/32", "203.0.113.5/32", "fd00:10:244::/64", "fd00::a/128"], "node-a's networks are in the store");

        kube.Server.Put(Nodes, KubeObjects.Node("node-b", true, ["10.244.1.0/24"], ("InternalIP", "192.168.1.11")));
        await UntilNetworksAsync(store, ["10.244.0.0/24", "10.244.1.0/24", "192.168.1.10/32", "192.168.1.11/32", "203.0.113.5/32", "fd00:10:244::/64", "fd00::a/128"],
            "the new node-b's networks are added by the running operator");

        // Kubelet heartbeats change the Nodes, not their networks: each is reconciled, and nothing is written.
        for (var i = 1; i <= 3; i++)
        {
            var seen = Count(op, "cluster networks unchanged") + Count(op, "cluster networks written");
            kube.Server.PutStatus(Nodes, null, "node-b", KubeObjects.NodeStatus(true, [("InternalIP", "192.168.1.11")], DateTimeOffset.UnixEpoch.AddMinutes(i)));
            await Eventually.TrueAsync(() => Task.FromResult(Count(op, "cluster networks unchanged") + Count(op, "cluster networks written") > seen), $"heartbeat {i} is reconciled");
        }
        Assert.Equal(2, Count(op, "cluster networks written"));
        kube.Server.Put(Nodes, KubeObjects.Node("node-c", true, ["10.244.2.0/24", "10.244.300.0/24"]));
        await UntilNetworksAsync(store, ["10.244.0.0/24", "10.244.1.0/24", "10.244.2.0/24", "192.168.1.10/32", "192.168.1.11/32", "203.0.113.5/32", "fd00:10:244::/64", "fd00::a/128"],
            "node-c's valid network is added");
        Assert.Equal(3, Count(op, "cluster networks written"));
        Assert.Contains(op.Logs.Entries, e => e.Level == LogLevel.Warning && e.Message.Contains("Node node-c: '10.244.300.0/24' is not a CIDR", StringComparison.Ordinal));

        kube.Server.Delete(Nodes, null, "node-a");
        await UntilNetworksAsync(store, ["10.244.1.0/24", "10.244.2.0/24", "192.168.1.11/32"], "a deleted node's networks are withdrawn");
    }

    [Fact]
    public async Task TheTwoSettingsWriters_KeepEachOthersPart()
    {
        await using var kube = await Kube.StartAsync();
        var store = new InMemoryStore();
        kube.Server.Put(Nodes, KubeObjects.Node("node-a", true, ["10.244.0.0/24"]));
        kube.Server.Put(Kube.Servers, Kube.ServerObject("crnpcloud", new JsonObject { ["retryCount"] = 7 }));
        var op = await kube.StartOperatorAsync(store);
        await Eventually.TrueAsync(async () => await store.GetSettingsAsync() is { RetryCount: 7, ClusterNetworks: ["10.244.0.0/24"] }, "both parts are written");

        kube.Server.Put(Nodes, KubeObjects.Node("node-b", true, ["10.244.1.0/24"]));
        await UntilNetworksAsync(store, ["10.244.0.0/24", "10.244.1.0/24"], "a new node's network is added");
        Assert.Equal(7, (await store.GetSettingsAsync()).RetryCount);

        var server = kube.Get(Kube.Servers, "crnp", "crnpcloud")!;
        server["spec"]!["retryCount"] = 8;
        kube.Server.Put(Kube.Servers, server);
        await Eventually.TrueAsync(async () => (await store.GetSettingsAsync()).RetryCount == 8, "the CrnpServer change is written");
        Assert.Equal(["10.244.0.0/24", "10.244.1.0/24"], await NetworksAsync(store));

        // A settings reconcile that changes nothing writes nothing, though the store now holds networks.
        var written = Count(op, "server settings written");
        kube.Server.Put(Kube.Servers, Kube.ServerObject("other", new JsonObject { ["retryCount"] = 1 }));
        await Eventually.TrueAsync(() => Task.FromResult(kube.Condition(Kube.Servers, "crnp", "other", "Applied", "reason") == "NotSelected"), "the other CrnpServer is reconciled");
        Assert.Equal(written, Count(op, "server settings written"));
    }

    [Fact]
    public async Task PublishingOff_ClearsTheNetworks_AndNodesAreNotWatched()
    {
        await using var kube = await Kube.StartAsync();
        var store = new InMemoryStore();
        await store.SetClusterNetworksAsync(["10.9.0.0/16"]);
        kube.Server.Put(Nodes, KubeObjects.Node("node-a", true, ["10.244.0.0/24"]));

        await kube.StartOperatorAsync(store, extra: new Dictionary<string, string?> { ["Crnp:Operator:ClusterNetworks"] = "false" });

        await Eventually.TrueAsync(async () => (await NetworksAsync(store)).Count == 0, "the networks an earlier run wrote are cleared");
        Assert.DoesNotContain(kube.Server.Requests, r => r.Resource == "nodes");
    }

    [Fact]
    public async Task ARunningEdge_UnderDefaultLocal_AcceptsSourcesInANodesNetworks_AndRefusesOthers()
    {
        await using var kube = await Kube.StartAsync();
        var store = new InMemoryStore();
        kube.Server.Put(Nodes, KubeObjects.Node("node-a", true, ["127.0.0.16/28"], ("InternalIP", "127.0.0.40")));
        // On loopback every 127.x source is an interface network; this edge counts none, so LOCAL
        // (the default AllowHosts) is exactly its configured LocalNetworks (none) and the cluster's.
        await using var edge = await ServiceHost.StartAsync(store, b =>
        {
            b.AddCrnpEdge();
            b.Services.AddSingleton(new InterfaceNetworks(() => []));
        }, settings: new Dictionary<string, string?>
        {
            ["Crnp:Settings:RefreshInterval"] = "00:00:00.100",
            ["Crnp:Edge:Port"] = "0",
            ["Crnp:Edge:ListenAddress"] = "127.0.0.1",
            ["Crnp:Management:Port"] = "0",
        });
        var endpoint = new IPEndPoint(IPAddress.Loopback, edge.Port);
        async Task<StatusCode> RegisterFrom(string source, int port) =>
            (await CrnpTestClient.RegisterAsync(endpoint, new CallbackRegistration(RegistrationType.AddClient, port,
                new EquatableList<EventRegistration>([new("EC_Cluster", "ESC_cluster_membership")])), IPAddress.Parse(source))).Status;

        var beforeOperator = await RegisterFrom("127.0.0.17", 18801);
        await kube.StartOperatorAsync(store);
        await Eventually.TrueAsync(async () => await RegisterFrom("127.0.0.17", 18802) == StatusCode.Ok, "a source in node-a's pod CIDR registers");
        var nodeAddress = await RegisterFrom("127.0.0.40", 18803);
        var outside = await RegisterFrom("127.0.0.50", 18804);

        kube.Server.Put(Nodes, KubeObjects.Node("node-b", true, ["127.0.0.48/28"]));
        await Eventually.TrueAsync(async () => await RegisterFrom("127.0.0.50", 18805) == StatusCode.Ok, "a source in the new node-b's pod CIDR registers, without a restart");

        Assert.Equal(StatusCode.Fail, beforeOperator);
        Assert.Equal(StatusCode.Ok, nodeAddress);
        Assert.Equal(StatusCode.Fail, outside);
        Assert.Equal(StatusCode.Fail, await RegisterFrom("127.0.0.99", 18806));
    }
}
