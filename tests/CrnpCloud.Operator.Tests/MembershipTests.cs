using System.Text.Json.Nodes;
using CrnpCloud.Core;
using CrnpCloud.Delivery;
using CrnpCloud.Ingest;
using CrnpCloud.Testing;

namespace CrnpCloud.Operator.Tests;

public sealed class MembershipTests
{
    [Fact]
    public async Task ANodeTurningNotReady_ReachesACrnpListener_AsAMembershipEvent()
    {
        await using var kube = await Kube.StartAsync();
        var store = new InMemoryStore();
        kube.Server.Put(FakeKube.ResourceKind.Nodes, Kube.Node("node-a", ready: true));
        kube.Server.Put(FakeKube.ResourceKind.Nodes, Kube.Node("node-b", ready: true));

        // The whole path: Node watch -> operator -> ingest gRPC -> store -> delivery worker -> a real
        // CRNP listener, declared as a CrnpClient.
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
        await using var listener = CrnpTestListener.Start();
        await kube.StartOperatorAsync(store, extra: new Dictionary<string, string?>
        {
            ["Crnp:Operator:NodeEvents"] = "true",
            ["Crnp:Operator:IngestAddress"] = $"http://127.0.0.1:{ingest.Port}",
        });
        kube.Server.Put(Kube.Clients, Kube.Client("watcher", "127.0.0.1", listener.Address.Port));

        // First event: the current membership, both nodes in their first incarnation.
        await listener.WaitForAsync(1);
        Assert.Equal("node-a,node-b / 1,1", Lists(listener.Events[0]));

        kube.Server.PutStatus(FakeKube.ResourceKind.Nodes, null, "node-b", Kube.NodeStatus(ready: false));
        await listener.WaitForAsync(2);
        Assert.Equal("node-a,node-b / 1,-1", Lists(listener.Events[1]));

        kube.Server.PutStatus(FakeKube.ResourceKind.Nodes, null, "node-b", Kube.NodeStatus(ready: true));
        await listener.WaitForAsync(3);
        Assert.Equal("node-a,node-b / 1,2", Lists(listener.Events[2]));

        kube.Server.Delete(FakeKube.ResourceKind.Nodes, null, "node-a");
        await listener.WaitForAsync(4);
        Assert.Equal("node-a,node-b / -1,2", Lists(listener.Events[3]));

        var evt = listener.Events[0];
        Assert.Equal(("EC_Cluster", "ESC_cluster_membership", "SUNW", "rgm"), (evt.Class, evt.Subclass, evt.Vendor, evt.Publisher));

        // The incarnations are kept where a new leader finds them.
        var saved = kube.Get(Kube.ConfigMaps, "crnp", "crnpcloud-operator-membership")!;
        var incarnations = JsonNode.Parse((string)saved["data"]!["incarnations"]!)!;
        Assert.Equal(2, (int)incarnations["node-b"]!["incarnation"]!);
    }

    private static string Lists(Protocol.CrnpEvent evt) =>
        string.Join(",", evt.NameValues.Single(p => p.Name == "node_list").Values) + " / " + string.Join(",", evt.NameValues.Single(p => p.Name == "state_list").Values);
}
