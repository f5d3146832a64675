using System.Net;
using System.Text.Json.Nodes;
using CrnpCloud.Core;
using CrnpCloud.Delivery;
using CrnpCloud.Edge;
using CrnpCloud.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace CrnpCloud.Operator.Tests;

public sealed class WatchAndSettingsTests
{
    [Fact]
    public async Task AWatchThatGets410_ListsAgainAndKeepsReconciling()
    {
        await using var kube = await Kube.StartAsync();
        var store = new InMemoryStore();
        var op = await kube.StartOperatorAsync(store);
        kube.Server.Put(Kube.Clients, Kube.Client("before", "127.0.0.1", 18900));
        await Eventually.TrueAsync(async () => (await store.ListClientsAsync()).Count == 1, "the first client is registered");

        // The apiserver forgets history and every watch drops: resuming from the last resourceVersion
        // gets 410 Expired, and the operator must list again. A client created while the watch was down
        // is found by that list; one deleted meanwhile is unregistered.
        kube.Server.CompactHistory();
        kube.Server.DropWatches();
        kube.Server.Put(Kube.Clients, Kube.Client("during", "127.0.0.1", 18901));
        kube.Server.CompactHistory();
        await Eventually.TrueAsync(() => Task.FromResult(kube.Server.GoneAnswers > 0), "a watch is answered 410");
        try
        {
            await Eventually.TrueAsync(async () => (await store.ListClientsAsync()).Count == 2, "the client created across the 410 is registered");
        }
        catch (TimeoutException)
        {
            throw new TimeoutException(string.Join("\n", op.Logs.Entries.Where(e => e.Level >= Microsoft.Extensions.Logging.LogLevel.Information).Select(e => e.Category + " " + e.Message + " " + e.Exception)));
        }

        kube.Server.Put(Kube.Clients, Kube.Client("after", "127.0.0.1", 18902));
        await Eventually.TrueAsync(async () => (await store.ListClientsAsync()).Count == 3, "watching resumed after the re-list");
        Assert.Contains(kube.Server.Requests, r => r.Verb == "list" && r.Resource == "crnpclients" && r.Status == 200);
        Assert.True(kube.Server.Requests.Count(r => r.Verb == "list" && r.Resource == "crnpclients") >= 2, "the operator listed again");
    }

    [Fact]
    public async Task CrnpServerChange_ReachesRunningServices_WithoutRestart()
    {
        await using var kube = await Kube.StartAsync();
        var store = new InMemoryStore();
        var live = new Dictionary<string, string?> { ["Crnp:Settings:RefreshInterval"] = "00:00:00.100" };
        await using var worker = await WorkerHost.StartAsync(store, b => b.AddCrnpDelivery(), new Dictionary<string, string?>(live)
        {
            ["Crnp:Delivery:RetryCount"] = "3",
            ["Crnp:Delivery:RetryInterval"] = "00:00:30",
        });
        await using var edge = await ServiceHost.StartAsync(store, b => b.AddCrnpEdge(), settings: new Dictionary<string, string?>(live)
        {
            ["Crnp:Edge:Port"] = "0",
            ["Crnp:Edge:ListenAddress"] = "127.0.0.1",
            ["Crnp:Management:Port"] = "0",
        });
        var delivery = worker.Services.GetRequiredService<IOptionsMonitor<DeliveryOptions>>();
        var edgeOptions = edge.Services.GetRequiredService<IOptionsMonitor<EdgeOptions>>();
        Assert.Equal(3, delivery.CurrentValue.RetryCount);
        await kube.StartOperatorAsync(store);

        kube.Server.Put(Kube.Servers, Kube.ServerObject("crnpcloud", new JsonObject
        {
            ["retryCount"] = 7,
            ["retryInterval"] = "1m30s",
            ["clientTimeout"] = "5s",
            ["maxClients"] = 42,
            ["denyHosts"] = new JsonArray("127.0.0.1"),
        }));
        await Eventually.TrueAsync(() => Task.FromResult(delivery.CurrentValue.RetryCount == 7), "the running worker applies retryCount 7");
        Assert.Equal(TimeSpan.FromSeconds(90), delivery.CurrentValue.RetryInterval);
        Assert.Equal(TimeSpan.FromSeconds(5), delivery.CurrentValue.ClientTimeout);
        await Eventually.TrueAsync(() => Task.FromResult(edgeOptions.CurrentValue.MaxClients == 42), "the running edge applies maxClients 42");
        Assert.Equal("127.0.0.1", edgeOptions.CurrentValue.DenyHosts);
        await Eventually.TrueAsync(() => Task.FromResult(kube.Condition(Kube.Servers, "crnp", "crnpcloud", "Applied") == "True"), "Applied=True");

        // The edge now refuses 127.0.0.1: the deny list took effect on a live connection.
        var reply = await CrnpTestClient.RegisterAsync(new IPEndPoint(IPAddress.Loopback, edge.Port), new Protocol.CallbackRegistration(
            Protocol.RegistrationType.AddClient, 18999,
            new Protocol.EquatableList<Protocol.EventRegistration>([new("EC_Cluster", "ESC_cluster_membership", Protocol.EquatableList<Protocol.NameValue>.Empty)])));
        Assert.Equal(Protocol.StatusCode.Fail, reply.Status);
        Assert.Contains("not allowed", reply.Message, StringComparison.Ordinal);

        // A spec the services could not run with is refused with a reason and changes nothing.
        var server = kube.Get(Kube.Servers, "crnp", "crnpcloud")!;
        server["spec"]!["allowHosts"] = new JsonArray("10.0.0.0/33");
        kube.Server.Put(Kube.Servers, server);
        await Eventually.TrueAsync(() => Task.FromResult(kube.Condition(Kube.Servers, "crnp", "crnpcloud", "Applied", "reason") == "InvalidSpec"), "InvalidSpec");
        Assert.Contains("10.0.0.0/33", kube.Condition(Kube.Servers, "crnp", "crnpcloud", "Applied", "message"), StringComparison.Ordinal);

        // A CrnpServer other than the installation's is reported, not applied.
        kube.Server.Put(Kube.Servers, Kube.ServerObject("other", new JsonObject { ["retryCount"] = 1 }));
        await Eventually.TrueAsync(() => Task.FromResult(kube.Condition(Kube.Servers, "crnp", "other", "Applied", "reason") == "NotSelected"), "NotSelected");
        Assert.NotEqual(1, delivery.CurrentValue.RetryCount);
    }
}
