using System.Net;
using System.Text.Json.Nodes;
using CrnpCloud.Core;
using CrnpCloud.FakeKube;
using CrnpCloud.Protocol;
using CrnpCloud.Testing;
using Xunit.Abstractions;
using static CrnpCloud.EndToEnd.Tests.OperatorKube;

namespace CrnpCloud.EndToEnd.Tests;

/// <summary>
/// Issue 18 items 4 and 5 as deployed: the operator, the ingest and a delivery worker as processes on a
/// real redis-server, the fake API server for Kubernetes. A declared client the delivery pool removes
/// shows it in its status and a Warning Event; 1,000 dynamic clients add no per-client metric series.
/// </summary>
public sealed class OperatorClientHealthProcessTests(RedisServerFixture redis, ITestOutputHelper output) : IClassFixture<RedisServerFixture>
{
    private const int Dynamic = 1000;
    private const int Limit = 20;

    [Fact]
    public async Task Removal_ReachesStatusAndEvent_AndClientSeriesStayBounded_With1000DynamicClients()
    {
        await using var world = await OperatorKube.StartAsync();
        var kube = world.Api;
        // A failed client is retried an hour later: the dynamic and idle clients stay registered with
        // a backlog; only "gone" (retry count 0 in its CrnpClient) is removed.
        await using var system = await CrnpSystem.StartAsync(SystemOptions.Operator(redis.Server, world.Kubeconfig)
            .SetWorkers(new Dictionary<string, string>
            {
                ["Crnp__Delivery__RetryInterval"] = "01:00:00",
                ["Crnp__Delivery__ClientTimeout"] = "00:00:02",
                ["Crnp__Delivery__RescanInterval"] = "00:00:00.500",
            })
            .SetOperators(new Dictionary<string, string> { ["Crnp__Operator__ClientMetricsLimit"] = Limit.ToString(System.Globalization.CultureInfo.InvariantCulture) }));
        var store = RedisStores.Create(redis.Connection, system.KeyPrefix);
        var (worker, op) = (system.Workers[0], system.Operators[0]);
        var metricsPort = await op.PortOfAsync("http");
        await using var listener = CrnpTestListener.Start();
        var refusing = CrnpTestListener.Refusing();

        // 1,000 dynamic clients, straight into the store (as the edge would register them).
        var limits = RegistrationLimits.Default with { MaxClients = 100_000 };
        var membership = EquatableList.Of(new EventRegistration("EC_Cluster", "ESC_cluster_membership"));
        await Task.WhenAll(Enumerable.Range(0, Dynamic).Select(async i =>
        {
            var client = new CallbackAddress(IPAddress.Parse($"127.77.{i / 250}.{(i % 250) + 1}"), 9);
            Assert.Equal(StatusCode.Ok, (await store.ApplyAsync(new RegistrationChange(RegistrationType.AddClient, client, membership, limits))).Status);
        }));

        // Declared: a refusing client removed after one attempt (its own retry policy, which must reach
        // the worker before the event it fails on), a listener, and 23 that never answer.
        static int Applied(ServiceProcess p) => p.Output.Count(l => l.Contains("server settings applied from", StringComparison.Ordinal));
        await op.WaitForAsync(() => op.Output.Any(l => l.Contains("with 0 client retry override(s)", StringComparison.Ordinal)), "the operator writes the settings");
        await worker.WaitForAsync(() => Applied(worker) >= 1, "the worker applies them");
        var applied = Applied(worker);
        kube.Put(Clients, Declared("gone", refusing.Ip.ToString(), refusing.Port, new JsonObject { ["count"] = 0 }, ("EC_Test", "ESC_gone")));
        await op.WaitForAsync(() => op.Output.Any(l => l.Contains("with 1 client retry override(s)", StringComparison.Ordinal)), "the operator writes gone's retry policy");
        await worker.WaitForAsync(() => Applied(worker) > applied, "the worker applies it");
        await store.PublishAsync(new CrnpEvent("EC_Test", "ESC_gone", "SUNW", "test", EquatableList<NameValue>.Empty));
        kube.Put(Clients, Declared("listener", "127.0.0.1", listener.Address.Port));
        for (var i = 1; i <= 23; i++)
        {
            kube.Put(Clients, Declared($"idle-{i}", $"127.78.0.{i}", 9));
        }
        kube.Put(ResourceKind.Nodes, KubeObjects.Node("node-a", ready: true));

        // Node membership reaches every registration; "gone" is removed, and says so.
        await listener.WaitForAsync(1, TimeSpan.FromSeconds(60));
        await Eventually.TrueAsync(() => Task.FromResult(Condition(kube, "gone", "Removed", "reason") == "RemovedAfterRetries"), "gone: Removed=True RemovedAfterRetries", TimeSpan.FromSeconds(60));
        Assert.Equal(("False", "RemovedAfterRetries"), (Condition(kube, "gone", "Registered"), Condition(kube, "gone", "Registered", "reason")));
        Assert.Contains("after failed deliveries: 1 delivery attempt(s) failed", Condition(kube, "gone", "Registered", "message"), StringComparison.Ordinal);
        var removal = (await store.ListRemovalsAsync(100)).Single(r => r.Client == refusing);
        Assert.Equal(removal.Reason, (string?)kube.Get(Clients, "apps", "gone")!["status"]!["lastRemoval"]!["reason"]);
        await Eventually.TrueAsync(() => Task.FromResult(kube.List(ResourceKind.Events).Any(e => (string?)e["reason"] == "ClientRemoved")), "a Warning Event ClientRemoved");
        var warning = kube.List(ResourceKind.Events).Single(e => (string?)e["reason"] == "ClientRemoved");
        Assert.Equal(("Warning", "gone", "CrnpClient"), ((string?)warning["type"], (string?)warning["involvedObject"]!["name"], (string?)warning["involvedObject"]!["kind"]));

        // The listener's status carries its deliveries.
        await Eventually.TrueAsync(() => Task.FromResult(kube.Get(Clients, "apps", "listener")!["status"]?["lastDeliveredSequence"] is not null), "listener: lastDeliveredSequence");
        var status = kube.Get(Clients, "apps", "listener")!["status"]!;
        Assert.Equal(0L, (long)status["backlog"]!);
        Assert.NotNull(status["lastDeliveryTime"]);

        // Per-client series: declared clients only, at most the limit, whatever the dynamic clients hold.
        using var http = new HttpClient();
        var series = new List<string>();
        await Eventually.TrueAsync(async () =>
        {
            series = ClientSeries(await http.GetStringAsync($"http://127.0.0.1:{metricsPort}/metrics"));
            return series.Count(s => s.StartsWith("crnp_operator_client_backlog{", StringComparison.Ordinal)) == Limit
                && series.Count(s => s.StartsWith("crnp_operator_client_consecutive_failures{", StringComparison.Ordinal)) == Limit;
        }, $"{Limit} backlog and failure series", TimeSpan.FromSeconds(60));
        var registered = (await store.ListClientsAsync()).Count;
        var scrape = await http.GetStringAsync($"http://127.0.0.1:{metricsPort}/metrics");
        series = ClientSeries(scrape);
        output.WriteLine($"{registered} registered clients ({Dynamic} dynamic, {registered - Dynamic} declared): {series.Count} per-client series on the operator's /metrics");
        foreach (var group in series.GroupBy(s => s[..s.IndexOf('{', StringComparison.Ordinal)]))
        {
            output.WriteLine($"  {group.Key}: {group.Count()}");
        }
        Assert.True(registered >= Dynamic + 24, $"{registered} registered");
        Assert.All(series.GroupBy(s => s[..s.IndexOf('{', StringComparison.Ordinal)]), g => Assert.True(g.Count() <= Limit, $"{g.Key}: {g.Count()} series"));
        Assert.True(series.Count <= 3 * Limit, $"{series.Count} per-client series");
        Assert.DoesNotContain(series, s => s.Contains("127.77.", StringComparison.Ordinal));
        Assert.Matches(@"crnp_operator_client_series_omitted(\{[^}]*\})? 4\b", scrape);
    }

    private static List<string> ClientSeries(string scrape) =>
        [.. scrape.Split('\n').Where(l => l.StartsWith("crnp_operator_client_", StringComparison.Ordinal) && l.Contains("crnpclient=\"", StringComparison.Ordinal))];

    private static string? Condition(FakeKubeApiServer kube, string name, string type, string field = "status") =>
        (string?)(kube.Get(Clients, "apps", name)?["status"]?["conditions"] as JsonArray)?.FirstOrDefault(c => (string?)c!["type"] == type)?[field];

    private static JsonObject Declared(string name, string address, int port, JsonObject? retry = null, (string Class, string Subclass)? type = null)
    {
        var (cls, sub) = type ?? ("EC_Cluster", "ESC_cluster_membership");
        var spec = new JsonObject
        {
            ["address"] = address,
            ["port"] = port,
            ["events"] = new JsonArray(new JsonObject { ["class"] = cls, ["subclass"] = sub }),
        };
        if (retry is not null)
        {
            spec["retry"] = retry;
        }
        return new JsonObject
        {
            ["apiVersion"] = "crnp.cloud/v1alpha1",
            ["kind"] = "CrnpClient",
            ["metadata"] = new JsonObject { ["name"] = name, ["namespace"] = "apps" },
            ["spec"] = spec,
        };
    }
}
