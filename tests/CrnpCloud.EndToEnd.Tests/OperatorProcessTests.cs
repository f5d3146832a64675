using System.Diagnostics;
using System.Text.Json.Nodes;
using CrnpCloud.FakeKube;
using CrnpCloud.Testing;
using Xunit.Abstractions;
using static CrnpCloud.EndToEnd.Tests.OperatorKube;

namespace CrnpCloud.EndToEnd.Tests;

/// <summary>
/// The operator as it is deployed: two operator processes (leader election), ingest and a delivery
/// worker as processes on a real redis-server, the fake API server for Kubernetes, a real CRNP
/// listener declared as a CrnpClient. The leader is killed with SIGKILL (no Lease release).
/// </summary>
public sealed class OperatorProcessTests(RedisServerFixture redis, ITestOutputHelper output) : IClassFixture<RedisServerFixture>
{
    [Fact]
    public async Task Operators_OnRedis_ApplySettings_PublishMembership_AndSurviveTheLeadersKill()
    {
        await using var world = await OperatorKube.StartAsync();
        var kube = world.Api;
        await using var system = await CrnpSystem.StartAsync(SystemOptions.Operator(redis.Server, world.Kubeconfig, operators: 2)
            .SetWorkers(new Dictionary<string, string> { ["Crnp__Delivery__LeaseTtl"] = "00:00:03" })
            .SetOperators(new Dictionary<string, string>
            {
                ["Crnp__Operator__LeaseDuration"] = "00:00:04",
                ["Crnp__Operator__RenewDeadline"] = "00:00:03",
            }));
        var (ingest, worker, op1, op2) = (system.IngestProcess, system.Workers[0], system.Operators[0], system.Operators[1]);
        await using var listener = CrnpTestListener.Start();

        kube.Put(Servers, new JsonObject
        {
            ["apiVersion"] = "crnp.cloud/v1alpha1",
            ["kind"] = "CrnpServer",
            ["metadata"] = new JsonObject { ["name"] = "crnpcloud", ["namespace"] = "crnp" },
            ["spec"] = new JsonObject { ["retryCount"] = 9, ["vendorName"] = "ORCL" },
        });
        kube.Put(Clients, new JsonObject
        {
            ["apiVersion"] = "crnp.cloud/v1alpha1",
            ["kind"] = "CrnpClient",
            ["metadata"] = new JsonObject { ["name"] = "listener", ["namespace"] = "apps" },
            ["spec"] = new JsonObject
            {
                ["address"] = "127.0.0.1",
                ["port"] = listener.Address.Port,
                ["events"] = new JsonArray(new JsonObject { ["class"] = "EC_Cluster", ["subclass"] = "ESC_cluster_membership" }),
            },
        });

        // The running worker and ingest apply the CrnpServer from Redis without a restart.
        await worker.WaitForAsync(() => worker.Output.Any(l => l.Contains("server settings applied from CrnpServer crnp/crnpcloud", StringComparison.Ordinal)), "the worker applies the CrnpServer");
        await ingest.WaitForAsync(() => ingest.Output.Any(l => l.Contains("server settings applied from CrnpServer crnp/crnpcloud", StringComparison.Ordinal)), "the ingest applies the CrnpServer");

        // The node appears only now: a membership event published before the ingest applied the
        // CrnpServer carries the default vendor, rightly (CI once saw SUNW when the node was there from
        // the start and the leader published before the ingest's settings poll).
        kube.Put(ResourceKind.Nodes, KubeObjects.Node("node-a", ready: true));

        // Node membership reaches the declared listener (vendor from the CrnpServer).
        await listener.WaitForAsync(1);
        Assert.Equal(("ORCL", "node-a", "1"), (listener.Events[0].Vendor, Values(listener.Events[0], "node_list"), Values(listener.Events[0], "state_list")));

        // Kill the leader outright: the other takes over once the Lease expires, and the next change arrives.
        var holder = (string?)kube.Get(ResourceKind.Leases, "crnp", "crnpcloud-operator")!["spec"]!["holderIdentity"];
        var (leader, follower) = holder == "op-1" ? (op1, op2) : (op2, op1);
        var clock = Stopwatch.StartNew();
        await leader.SignalAsync("KILL");
        kube.PutStatus(ResourceKind.Nodes, null, "node-a", KubeObjects.NodeStatus(ready: false));
        await listener.WaitForAsync(2, TimeSpan.FromSeconds(30));
        output.WriteLine($"after SIGKILL of the leader, the next membership event arrived in {clock.ElapsedMilliseconds} ms (lease duration 4000 ms)");
        Assert.Equal(("node-a", "-1"), (Values(listener.Events[1], "node_list"), Values(listener.Events[1], "state_list")));
        Assert.NotEqual(holder, (string?)kube.Get(ResourceKind.Leases, "crnp", "crnpcloud-operator")!["spec"]!["holderIdentity"]);
        Assert.Contains(follower.Output, l => l.Contains("leads: reconciling", StringComparison.Ordinal));
    }

    private static string Values(Protocol.CrnpEvent evt, string name) => string.Join(",", evt.NameValues.Single(p => p.Name == name).Values);
}
