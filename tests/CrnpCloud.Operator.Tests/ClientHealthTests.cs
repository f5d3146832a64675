using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Net;
using CrnpCloud.Core;
using CrnpCloud.Delivery;
using CrnpCloud.Protocol;
using CrnpCloud.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace CrnpCloud.Operator.Tests;

/// <summary>Issue 18 item 5: a CrnpClient's delivery figures in its status, and per-client metrics for declared clients only.</summary>
public sealed class ClientHealthTests
{
    private static readonly CrnpEvent Membership = new("EC_Cluster", "ESC_cluster_membership", "SUNW", "rgm", EquatableList<NameValue>.Empty);

    [Fact]
    public async Task Status_CarriesBacklogAndTheLastDelivery_WrittenAtMostOncePerStatusInterval()
    {
        await using var kube = await Kube.StartAsync();
        var store = new InMemoryStore();
        await using var listener = CrnpTestListener.Start();
        await kube.StartOperatorAsync(store, extra: new Dictionary<string, string?> { ["Crnp:Operator:StatusInterval"] = "00:00:01" });
        await using var worker = await WorkerHost.StartAsync(store, b => b.AddCrnpDelivery(), new Dictionary<string, string?>
        {
            ["Crnp:Delivery:RescanInterval"] = "00:00:00.500",
        });
        kube.Server.Put(Kube.Clients, Kube.Client("steady", "127.0.0.1", listener.Address.Port));
        await Eventually.TrueAsync(() => Task.FromResult(kube.Condition(Kube.Clients, "apps", "steady", "Registered") == "True"), "Registered=True");

        // A steady stream of deliveries for a few seconds: each one changes the store's figures.
        int StatusWrites() => kube.Server.Requests.Count(r => r is { Verb: "update", Resource: "crnpclients", Subresource: "status" });
        var writesBefore = StatusWrites();
        var clock = Stopwatch.StartNew();
        long last = 0;
        var delivered = 0;
        while (clock.Elapsed < TimeSpan.FromSeconds(4))
        {
            last = (await store.PublishAsync(Membership)).Event.Sequence;
            await Eventually.TrueAsync(() => Task.FromResult(listener.Received.Count > delivered), "the event is delivered");
            delivered = listener.Received.Count;
        }
        var writes = StatusWrites() - writesBefore;
        var seconds = clock.Elapsed.TotalSeconds;

        await Eventually.TrueAsync(() => Task.FromResult((long?)kube.Get(Kube.Clients, "apps", "steady")!["status"]!["lastDeliveredSequence"] == last),
            "the status shows the last delivered sequence");
        var status = kube.Get(Kube.Clients, "apps", "steady")!["status"]!;
        Assert.Equal((0L, 0), ((long)status["backlog"]!, (int)status["consecutiveFailures"]!));
        Assert.True((DateTime.UtcNow - ((DateTime)status["lastDeliveryTime"]!).ToUniversalTime()) < TimeSpan.FromSeconds(30));
        Assert.Equal("True", kube.Condition(Kube.Clients, "apps", "steady", "Delivering"));
        Assert.True(delivered >= 20, $"only {delivered} deliveries in {seconds:0.0} s");
        Assert.True(writes <= seconds + 2, $"{writes} status writes in {seconds:0.0} s ({delivered} deliveries); at most one per second expected");
    }

    [Fact]
    public async Task ClientMetrics_AreForDeclaredClientsOnly_AtMostTheLimit_LargestBacklogFirst()
    {
        await using var kube = await Kube.StartAsync();
        var store = new InMemoryStore();
        var op = await kube.StartOperatorAsync(store, extra: new Dictionary<string, string?> { ["Crnp:Operator:ClientMetricsLimit"] = "2" });

        // Dynamic clients with the largest backlogs of all: none of them may get a series.
        var limits = RegistrationLimits.Default with { MaxClients = 10_000 };
        for (var i = 0; i < 50; i++)
        {
            var client = new CallbackAddress(IPAddress.Parse("10.9.0.1"), 20_000 + i);
            Assert.Equal(StatusCode.Ok, (await store.ApplyAsync(new RegistrationChange(RegistrationType.AddClient, client,
                EquatableList.Of(new EventRegistration("EC_Cluster", "ESC_cluster_membership"), new EventRegistration("EC_Cluster", "ESC_cluster_rg_state")), limits))).Status);
        }
        kube.Server.Put(Kube.Clients, Kube.Client("a", "127.0.0.1", 31001, events: [("EC_Cluster", "ESC_cluster_membership")]));
        kube.Server.Put(Kube.Clients, Kube.Client("b", "127.0.0.1", 31002, events: [("EC_Cluster", "ESC_cluster_membership"), ("EC_Cluster", "ESC_cluster_rg_state")]));
        kube.Server.Put(Kube.Clients, Kube.Client("c", "127.0.0.1", 31003, events: [("EC_Never", "ESC_published")]));
        foreach (var name in new[] { "a", "b", "c" })
        {
            await Eventually.TrueAsync(() => Task.FromResult(kube.Condition(Kube.Clients, "apps", name, "Registered") == "True"), $"{name} is registered");
        }
        await store.PublishAsync(Membership);
        await store.PublishAsync(Membership);
        await store.PublishAsync(new CrnpEvent("EC_Cluster", "ESC_cluster_rg_state", "SUNW", "rgm", EquatableList<NameValue>.Empty));

        var health = op.Services.GetRequiredService<ClientHealth>();
        Dictionary<string, Dictionary<string, double>> series = [];
        await Eventually.TrueAsync(() =>
        {
            series = Observe(health.Meter);
            return Task.FromResult(series.GetValueOrDefault("crnp.operator.client.backlog")?.GetValueOrDefault("apps/b") == 3
                && series["crnp.operator.client.backlog"].GetValueOrDefault("apps/a") == 2);
        }, "the backlog gauge shows b and a");

        Assert.Equal(["apps/a", "apps/b"], series["crnp.operator.client.backlog"].Keys.Order());
        Assert.Equal(["apps/a", "apps/b"], series["crnp.operator.client.consecutive_failures"].Keys.Order());
        Assert.Equal(1, series["crnp.operator.client.series_omitted"][""]);
        Assert.DoesNotContain(series.Values.SelectMany(s => s.Keys), k => k.StartsWith("10.", StringComparison.Ordinal));
    }

    /// <summary>Per instrument of the meter: the measurements by their crnpclient label ("" when unlabelled).</summary>
    private static Dictionary<string, Dictionary<string, double>> Observe(Meter meter)
    {
        var result = new Dictionary<string, Dictionary<string, double>>();
        using var listener = new MeterListener
        {
            InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Meter == meter)
                {
                    l.EnableMeasurementEvents(instrument);
                }
            },
        };
        void Record(Instrument instrument, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            var label = "";
            foreach (var tag in tags)
            {
                if (tag.Key == ClientHealth.Label)
                {
                    label = (string)tag.Value!;
                }
            }
            if (!result.TryGetValue(instrument.Name, out var byClient))
            {
                result[instrument.Name] = byClient = [];
            }
            byClient[label] = value;
        }
        listener.SetMeasurementEventCallback<long>((i, v, t, _) => Record(i, v, t));
        listener.SetMeasurementEventCallback<int>((i, v, t, _) => Record(i, v, t));
        listener.SetMeasurementEventCallback<double>((i, v, t, _) => Record(i, v, t));
        listener.Start();
        listener.RecordObservableInstruments();
        return result;
    }
}
