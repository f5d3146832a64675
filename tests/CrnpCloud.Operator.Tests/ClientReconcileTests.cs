using System.Net;
using System.Text.Json.Nodes;
using CrnpCloud.Core;
using CrnpCloud.Delivery;
using CrnpCloud.Protocol;
using CrnpCloud.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace CrnpCloud.Operator.Tests;

public sealed class ClientReconcileTests
{
    private static readonly CallbackAddress Listener = new(IPAddress.Parse("127.0.0.1"), 18888);

    [Fact]
    public async Task CrnpClient_CreateUpdateDelete_RoundTripsToTheStoreAndStatus()
    {
        await using var kube = await Kube.StartAsync();
        var store = new InMemoryStore();
        await kube.StartOperatorAsync(store);

        kube.Server.Put(Kube.Clients, Kube.Client("app1", "127.0.0.1", 18888, events: [("EC_Cluster", "ESC_cluster_membership")]));
        await Eventually.TrueAsync(async () => await store.GetClientAsync(Listener) is not null, "the declared registration is in the store");
        var registration = (await store.GetClientAsync(Listener))!;
        Assert.Equal(RegistrationOrigin.Declared, registration.Origin);
        Assert.Equal([new EventRegistration("EC_Cluster", "ESC_cluster_membership", EquatableList<NameValue>.Empty)], registration.Types);
        await Eventually.TrueAsync(() => Task.FromResult(kube.Condition(Kube.Clients, "apps", "app1", "Registered") == "True"), "Registered=True");
        var obj = kube.Get(Kube.Clients, "apps", "app1")!;
        Assert.Equal("127.0.0.1:18888", (string?)obj["status"]!["registeredAddress"]);
        Assert.Contains(CrnpApi.Finalizer, obj["metadata"]!["finalizers"]!.AsArray().Select(f => (string?)f));
        Assert.Equal((long)obj["metadata"]!["generation"]!, (long)obj["status"]!["observedGeneration"]!);

        // A TCP message from the client cannot change or remove a declared registration.
        var refused = await store.ApplyAsync(new RegistrationChange(RegistrationType.RemoveClient, Listener, EquatableList<EventRegistration>.Empty, RegistrationLimits.Default));
        Assert.Equal(StatusCode.Fail, refused.Status);
        Assert.Contains("declared by a CrnpClient", refused.Message, StringComparison.Ordinal);

        // Update: a second type is added in place (no re-registration, so no second first event).
        var updated = kube.Get(Kube.Clients, "apps", "app1")!;
        updated["spec"]!["events"]!.AsArray().Add(new JsonObject
        {
            ["class"] = "EC_Cluster",
            ["subclass"] = "ESC_cluster_rg_state",
            ["nvpairs"] = new JsonArray(new JsonObject { ["name"] = "rg_name", ["values"] = new JsonArray("rg1") }),
        });
        kube.Server.Put(Kube.Clients, updated);
        await Eventually.TrueAsync(async () => (await store.GetClientAsync(Listener))?.Types.Count == 2, "the new type is registered");
        Assert.Equal(registration.RegisteredAt, (await store.GetClientAsync(Listener))!.RegisteredAt);
        await Eventually.TrueAsync(
            () => Task.FromResult((long?)kube.Get(Kube.Clients, "apps", "app1")!["status"]!["observedGeneration"] == 2),
            "status reports generation 2");

        // Delete: the finalizer removes the registration, then the object goes.
        kube.Server.Delete(Kube.Clients, "apps", "app1");
        await Eventually.TrueAsync(async () => await store.GetClientAsync(Listener) is null, "the registration is removed");
        await Eventually.TrueAsync(() => Task.FromResult(kube.Get(Kube.Clients, "apps", "app1") is null), "the object is gone");
    }

    [Fact]
    public async Task InvalidSpec_IsReportedAndNotRegistered()
    {
        await using var kube = await Kube.StartAsync();
        var store = new InMemoryStore();
        await kube.StartOperatorAsync(store);
        var bad = Kube.Client("bad", "127.0.0.1", 18889, retry: new JsonObject { ["interval"] = "soon" });
        kube.Server.Put(Kube.Clients, bad);
        await Eventually.TrueAsync(() => Task.FromResult(kube.Condition(Kube.Clients, "apps", "bad", "Registered", "reason") == "InvalidSpec"), "InvalidSpec");
        Assert.Contains("spec.retry.interval 'soon'", kube.Condition(Kube.Clients, "apps", "bad", "Registered", "message"), StringComparison.Ordinal);
        Assert.Empty(await store.ListClientsAsync());
        await Eventually.TrueAsync(() => Task.FromResult(kube.Server.List(FakeKube.ResourceKind.Events).Any(e => (string?)e["reason"] == "InvalidSpec" && (string?)e["type"] == "Warning")),
            "a Warning event InvalidSpec (written after the status)");
    }

    [Theory]
    [InlineData("Never")]
    [InlineData("Always")]
    public async Task RemovalByTheDeliveryPool_BecomesAConditionAndAWarning_AndReRegistersWhenAsked(string reRegister)
    {
        await using var kube = await Kube.StartAsync();
        var store = new InMemoryStore();
        var refusing = CrnpTestListener.Refusing();
        var first = await kube.StartOperatorAsync(store);

        // The worker itself retries 1000 times an hour apart: only the CrnpClient's own retry policy
        // (count 0), carried by the live settings, can get the client removed within the test.
        await using var worker = await WorkerHost.StartAsync(store, b => b.AddCrnpDelivery(), new Dictionary<string, string?>
        {
            ["Crnp:Delivery:RetryCount"] = "1000",
            ["Crnp:Delivery:RetryInterval"] = "01:00:00",
            ["Crnp:Delivery:ClientTimeout"] = "00:00:02",
            ["Crnp:Delivery:LeaseTtl"] = "00:00:03",
            ["Crnp:Delivery:RescanInterval"] = "00:00:00.500",
            ["Crnp:Settings:RefreshInterval"] = "00:00:00.100",
        });

        kube.Server.Put(Kube.Clients, Kube.Client("gone", refusing.Ip.ToString(), refusing.Port, reRegister, retry: new JsonObject { ["count"] = 0 }));
        var options = worker.Services.GetRequiredService<IOptionsMonitor<DeliveryOptions>>();
        await Eventually.TrueAsync(() => Task.FromResult(options.CurrentValue.ClientRetry.TryGetValue(refusing.ToString(), out var r) && r.Count == 0),
            "the client's retry policy reaches the running worker");
        await store.PublishAsync(new CrnpEvent("EC_Cluster", "ESC_cluster_membership", "SUNW", "rgm", EquatableList<NameValue>.Empty));
        await Eventually.TrueAsync(async () => (await store.ListRemovalsAsync(10)).Any(r => r.Client == refusing), "the delivery pool removes the client");
        Assert.Contains("1 delivery attempt(s) failed", (await store.ListRemovalsAsync(10)).First(r => r.Client == refusing).Reason, StringComparison.Ordinal);

        int Removals() => kube.Server.List(FakeKube.ResourceKind.Events).Count(e => (string?)e["reason"] == "ClientRemoved" && (string?)e["type"] == "Warning");
        // With Always the client is registered again and, refusing, removed again after each first
        // event: stop the deliveries; the latest removal is reported, and none twice (removals that
        // follow each other faster than a reconcile are reported by the latest).
        await Eventually.TrueAsync(() => Task.FromResult(Removals() >= 1), "a Warning event ClientRemoved");
        await worker.StopAsync();
        var removed = (await store.ListRemovalsAsync(1000)).Where(r => r.Client == refusing).ToList();
        static long Ms(DateTime t) => new DateTimeOffset(t.ToUniversalTime()).ToUnixTimeMilliseconds();
        await Eventually.TrueAsync(
            () => Task.FromResult(kube.Get(Kube.Clients, "apps", "gone")!["status"]!["lastRemoval"]?["time"] is { } t && Ms((DateTime)t) == removed[^1].At.ToUnixTimeMilliseconds()),
            "the status reports the latest removal");
        var lastRemoval = kube.Get(Kube.Clients, "apps", "gone")!["status"]!["lastRemoval"]!;
        await Eventually.TrueAsync(() => Task.FromResult(kube.Server.List(FakeKube.ResourceKind.Events).Any(e => (string?)e["reason"] == "ClientRemoved"
            && ((string?)e["message"])!.Contains($"{removed[^1].At.UtcDateTime:yyyy-MM-dd'T'HH:mm:ss.fff'Z'}", StringComparison.Ordinal))), "its Event");
        List<string?> Messages() => [.. kube.Server.List(FakeKube.ResourceKind.Events).Where(e => (string?)e["reason"] == "ClientRemoved").Select(e => (string?)e["message"])];
        Assert.Equal(Messages().Count, Messages().Distinct().Count());
        Assert.InRange(Removals(), 1, removed.Count);
        var reported = Removals();
        Assert.Contains("1 delivery attempt(s) failed", (string?)lastRemoval["reason"], StringComparison.Ordinal);
        Assert.All(kube.Server.List(FakeKube.ResourceKind.Events).Where(e => (string?)e["reason"] == "ClientRemoved"),
            e => Assert.Contains("after failed deliveries: 1 delivery attempt(s) failed", (string?)e["message"], StringComparison.Ordinal));
        if (reRegister == "Never")
        {
            await Eventually.TrueAsync(() => Task.FromResult(kube.Condition(Kube.Clients, "apps", "gone", "Removed") == "True"), "Removed=True");
            Assert.Equal("RemovedAfterRetries", kube.Condition(Kube.Clients, "apps", "gone", "Removed", "reason"));
            Assert.Equal(("False", "RemovedAfterRetries"), (kube.Condition(Kube.Clients, "apps", "gone", "Registered"), kube.Condition(Kube.Clients, "apps", "gone", "Registered", "reason")));
            Assert.Contains("1 delivery attempt(s) failed", kube.Condition(Kube.Clients, "apps", "gone", "Registered", "message"), StringComparison.Ordinal);
            Assert.Null(await store.GetClientAsync(refusing));
        }
        else
        {
            await Eventually.TrueAsync(() => Task.FromResult(kube.Condition(Kube.Clients, "apps", "gone", "Removed", "reason") == "ReRegistered"), "Removed=False ReRegistered");
            Assert.Equal("True", kube.Condition(Kube.Clients, "apps", "gone", "Registered"));
            Assert.Contains("after failed deliveries", kube.Condition(Kube.Clients, "apps", "gone", "Removed", "message"), StringComparison.Ordinal);
            Assert.Contains(kube.Server.List(FakeKube.ResourceKind.Events), e => (string?)e["reason"] == "ReRegistered");
            Assert.Equal(RegistrationOrigin.Declared, (await store.GetClientAsync(refusing))!.Origin);
        }

        // Another leader (this one stopped) reads the whole removal record again, and reports nothing twice.
        await first.StopAsync();
        var second = await kube.StartOperatorAsync(store, "op-b", new Dictionary<string, string?> { ["Logging:LogLevel:CrnpCloud.Operator.ClientReconciler"] = "Debug" });
        await Eventually.TrueAsync(() => Task.FromResult(second.Logs.Entries.Count(e => e.Message.StartsWith("CrnpClient apps/gone: reconciled", StringComparison.Ordinal)) >= 2),
            "the new leader reconciles the client (twice: at the start of its term and at a refresh)");
        Assert.Equal(reported, Removals());
    }
}
