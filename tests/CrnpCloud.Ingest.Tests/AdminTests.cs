using System.Net;
using CrnpCloud.Core;
using CrnpCloud.Ingest.V1;
using CrnpCloud.Protocol;
using Grpc.Core;
using StatusCode = Grpc.Core.StatusCode;

namespace CrnpCloud.Ingest.Tests;

public sealed class AdminTests
{
    private static readonly CallbackAddress Alpha = new(IPAddress.Parse("10.0.0.7"), 7001);
    private static readonly CallbackAddress Beta = new(IPAddress.Parse("fd00::9"), 7002);

    private static async Task<InMemoryStore> StoreWithTwoClientsAsync()
    {
        var store = new InMemoryStore();
        var rg = new EventRegistration("EC_Cluster", "ESC_cluster_rg_state", new Protocol.NameValue("rg_name", "rg1"));
        await store.ApplyAsync(new RegistrationChange(RegistrationType.AddClient, Alpha, EquatableList.Of(new EventRegistration("EC_Cluster"), rg), RegistrationLimits.Default));
        await store.ApplyAsync(new RegistrationChange(RegistrationType.AddClient, Beta, EquatableList.Of(new EventRegistration("EC_Cluster", "ESC_cluster_membership")), RegistrationLimits.Default));
        return store;
    }

    [Fact]
    public async Task ListClients_ShowsTypes_Backlog_Failures_AndRecentRemovals()
    {
        var store = await StoreWithTwoClientsAsync();
        await store.PublishAsync(new CrnpEvent("EC_Cluster", "ESC_cluster_membership", "SUNW", "rgm", new Protocol.NameValue("node_list", "n1")));
        await store.RecordFailureAsync(Alpha, "ConnectionRefused");
        var gone = new CallbackAddress(IPAddress.Parse("10.0.0.8"), 7003);
        await store.ApplyAsync(new RegistrationChange(RegistrationType.AddClient, gone, EquatableList.Of(new EventRegistration("EC_Cluster")), RegistrationLimits.Default));
        var lease = (await store.ClaimAsync("w", TimeSpan.FromMinutes(1))).Leases.Single(l => l.Partition == Partitioning.Of(gone, store.Partitions));
        await store.RemoveFailedClientAsync(gone, "4 delivery attempt(s) failed; last: TimedOut", lease);
        await using var ingest = await IngestHost.StartAsync(store);
        var admin = new Admin.AdminClient(ingest.Channel);

        var reply = await admin.ListClientsAsync(new ListClientsRequest { Removals = 10 });

        Assert.Equal([Alpha.ToString(), Beta.ToString()], reply.Clients.Select(c => c.Address));
        var alpha = reply.Clients[0];
        Assert.Equal(["EC_Cluster/", "EC_Cluster/ESC_cluster_rg_state"], alpha.Types_.Select(t => $"{t.Class}/{t.Subclass}"));
        Assert.Equal("rg1", alpha.Types_[1].Nvpairs.Single(p => p.Name == "rg_name").Values.Single());
        Assert.Equal((1L, 1, "ConnectionRefused", "Dynamic"), (alpha.Backlog, alpha.ConsecutiveFailures, alpha.LastFailure, alpha.Origin));
        Assert.Null(alpha.LastDelivery);
        Assert.Equal((1L, 0), (reply.Clients[1].Backlog, reply.Clients[1].ConsecutiveFailures));
        var removal = Assert.Single(reply.RecentRemovals);
        Assert.Equal(gone.ToString(), removal.Address);
        Assert.Contains("TimedOut", removal.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task GetClient_AndRemoveClient_ByAddress_WithClearErrors()
    {
        var store = await StoreWithTwoClientsAsync();
        await using var ingest = await IngestHost.StartAsync(store);
        var admin = new Admin.AdminClient(ingest.Channel);

        var beta = await admin.GetClientAsync(new GetClientRequest { Address = "[fd00::9]:7002" });
        var bad = await Assert.ThrowsAsync<RpcException>(async () => await admin.GetClientAsync(new GetClientRequest { Address = "not-an-address" }));
        var unknown = await Assert.ThrowsAsync<RpcException>(async () => await admin.GetClientAsync(new GetClientRequest { Address = "10.9.9.9:1" }));
        var removed = await admin.RemoveClientAsync(new RemoveClientRequest { Address = Alpha.ToString() });
        var again = await Assert.ThrowsAsync<RpcException>(async () => await admin.RemoveClientAsync(new RemoveClientRequest { Address = Alpha.ToString() }));
        var badRemovals = await Assert.ThrowsAsync<RpcException>(async () => await admin.ListClientsAsync(new ListClientsRequest { Removals = 5000 }));

        Assert.Equal("ESC_cluster_membership", beta.Types_.Single().Subclass);
        Assert.Equal(StatusCode.InvalidArgument, bad.StatusCode);
        Assert.Contains("not-an-address", bad.Status.Detail, StringComparison.Ordinal);
        Assert.Equal(StatusCode.NotFound, unknown.StatusCode);
        Assert.Contains("removed", removed.Message, StringComparison.Ordinal);
        Assert.Null(await store.GetClientAsync(Alpha));
        Assert.Equal(StatusCode.NotFound, again.StatusCode);
        Assert.Equal(StatusCode.InvalidArgument, badRemovals.StatusCode);
        Assert.Contains(ingest.Logs.Entries, e => e.Message.Contains($"Client {Alpha} removed through the admin API", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Admin_RequiresTheToken_WhenPublishersMust()
    {
        await using var ingest = await IngestHost.StartAsync(new InMemoryStore(), new Dictionary<string, string?> { ["Crnp:Ingest:AuthTokens"] = "s3cret" });
        var admin = new Admin.AdminClient(ingest.Channel);

        var refused = await Assert.ThrowsAsync<RpcException>(async () => await admin.ListClientsAsync(new ListClientsRequest()));
        var allowed = await admin.ListClientsAsync(new ListClientsRequest(), new Metadata { { "authorization", "Bearer s3cret" } });

        Assert.Equal(StatusCode.Unauthenticated, refused.StatusCode);
        Assert.Empty(allowed.Clients);
    }
}
