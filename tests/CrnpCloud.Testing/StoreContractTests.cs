using System.Net;
using CrnpCloud.Core;
using CrnpCloud.Protocol;
using Xunit;

namespace CrnpCloud.Testing;

/// <summary>
/// The store contract, once, for every implementation: a subclass says how to make a fresh, empty
/// store. What one store does, the other must do the same.
/// </summary>
public abstract class StoreContractTests
{
    private static readonly EventRegistration Membership = new("EC_Cluster", "ESC_cluster_membership");
    private static readonly EventRegistration AllCluster = new("EC_Cluster");
    private static readonly RegistrationLimits Limits = new(100, 10);

    protected abstract Task<ICrnpStore> CreateStoreAsync();

    private static CallbackAddress Client(int port, string ip = "10.0.0.1") => new(IPAddress.Parse(ip), port);

    private static EventRegistration Rg(string name) => new("EC_Cluster", "ESC_cluster_rg_state", new NameValue("rg_name", name));

    private static CrnpEvent RgEvent(string name, string state) =>
        new("EC_Cluster", "ESC_cluster_rg_state", "SUNW", "rgm", new NameValue("rg_name", name), new NameValue("node_list", "n1", "n2"), new NameValue("state_list", state, "OFFLINE"));

    private static CrnpEvent MembershipEvent(int incarnation) =>
        new("EC_Cluster", "ESC_cluster_membership", "SUNW", "rgm", new NameValue("node_list", "n1", "n2"), new NameValue("state_list", incarnation.ToString(System.Globalization.CultureInfo.InvariantCulture), "-1"));

    private static RegistrationChange Change(RegistrationType type, CallbackAddress client, RegistrationLimits? limits = null, params EventRegistration[] types) =>
        new(type, client, new EquatableList<EventRegistration>(types), limits ?? Limits);

    private static async Task<long[]> QueuedSequences(ICrnpStore store, CallbackAddress client) =>
        [.. (await store.PeekQueueAsync(client, 10_000)).Select(e => e.Event.Sequence)];

    [Fact]
    public async Task AddClient_StoresTheTypes_WithoutDuplicates()
    {
        var store = await CreateStoreAsync();

        var result = await store.ApplyAsync(Change(RegistrationType.AddClient, Client(1), null, Membership, Rg("a"), Membership));

        Assert.Equal(StatusCode.Ok, result.Status);
        var client = await store.GetClientAsync(Client(1));
        Assert.NotNull(client);
        Assert.Equal(Client(1), client.Address);
        Assert.Equal([Membership, Rg("a")], client.Types);
        Assert.Equal(RegistrationOrigin.Dynamic, client.Origin);
    }

    [Theory]
    [InlineData(RegistrationType.AddClient)]
    [InlineData(RegistrationType.AddEvents)]
    [InlineData(RegistrationType.RemoveEvents)]
    [InlineData(RegistrationType.RemoveClient)]
    public async Task DeclaredRegistration_CannotBeChangedOverTcp_ButItsResourceCanChangeIt(RegistrationType type)
    {
        var store = await CreateStoreAsync();
        await store.ApplyAsync(Change(RegistrationType.AddClient, Client(1), null, Membership) with { Origin = RegistrationOrigin.Declared });

        var refused = await store.ApplyAsync(Change(type, Client(1), null, Rg("a")));

        Assert.Equal(StatusCode.Fail, refused.Status);
        Assert.Contains("declared by a CrnpClient resource", refused.Message, StringComparison.Ordinal);
        var kept = (await store.GetClientAsync(Client(1)))!;
        Assert.Equal((RegistrationOrigin.Declared, new EquatableList<EventRegistration>([Membership])), (kept.Origin, kept.Types));

        var changed = await store.ApplyAsync(Change(RegistrationType.AddEvents, Client(1), null, Rg("a")) with { Origin = RegistrationOrigin.Declared });
        Assert.Equal(StatusCode.Ok, changed.Status);
        Assert.Equal(StatusCode.Ok, (await store.ApplyAsync(Change(RegistrationType.RemoveClient, Client(1)) with { Origin = RegistrationOrigin.Declared })).Status);
        Assert.Null(await store.GetClientAsync(Client(1)));
    }

    [Fact]
    public async Task ServerSettings_RoundTrip()
    {
        ISettingsStore store = await CreateStoreAsync();
        Assert.Equal(ServerSettings.None.ToJson(), (await store.GetSettingsAsync()).ToJson());
        var settings = new ServerSettings
        {
            RetryCount = 5,
            RetryInterval = TimeSpan.FromSeconds(90),
            AllowHosts = "LOCAL,10.0.0.0/8",
            ClientRetry = new Dictionary<string, ClientRetry> { ["10.0.0.1:1"] = new(0, null) },
            Source = "test",
        };
        await store.SetSettingsAsync(settings);
        var read = await store.GetSettingsAsync();
        Assert.Equal(settings.ToJson(), read.ToJson());
    }

    [Fact]
    public async Task ClusterNetworks_AndTheOtherSettings_HaveTheirOwnWriters_NeitherOverwritesTheOther()
    {
        ISettingsStore store = await CreateStoreAsync();
        var server = new ServerSettings { RetryCount = 5, AllowHosts = "LOCAL", Source = "CrnpServer a" };

        await store.SetSettingsAsync(server);
        await store.SetClusterNetworksAsync(["10.244.0.0/24", "192.168.1.10/32"]);
        var both = await store.GetSettingsAsync();
        // The settings writer's document carries networks of its own (stale, say): they are not written.
        await store.SetSettingsAsync(server with { RetryCount = 6, ClusterNetworks = ["9.9.9.9/32"] });
        var afterSettings = await store.GetSettingsAsync();
        await store.SetClusterNetworksAsync(["fd00:10:244::/64"]);
        var afterNetworks = await store.GetSettingsAsync();
        await store.SetClusterNetworksAsync([]);
        var cleared = await store.GetSettingsAsync();

        Assert.Equal((5, "LOCAL", "CrnpServer a"), (both.RetryCount, both.AllowHosts, both.Source));
        Assert.Equal(["10.244.0.0/24", "192.168.1.10/32"], both.ClusterNetworks);
        Assert.Equal(6, afterSettings.RetryCount);
        Assert.Equal(["10.244.0.0/24", "192.168.1.10/32"], afterSettings.ClusterNetworks);
        Assert.Equal((6, "LOCAL"), (afterNetworks.RetryCount, afterNetworks.AllowHosts));
        Assert.Equal(["fd00:10:244::/64"], afterNetworks.ClusterNetworks);
        Assert.Equal(6, cleared.RetryCount);
        Assert.Empty(cleared.ClusterNetworks);
    }

    [Fact]
    public async Task ClusterNetworks_Alone_ReadWithNoOtherSettings()
    {
        ISettingsStore store = await CreateStoreAsync();

        await store.SetClusterNetworksAsync(["10.244.1.0/24"]);
        var read = await store.GetSettingsAsync();

        Assert.Equal(["10.244.1.0/24"], read.ClusterNetworks);
        Assert.Equal((ServerSettings.None with { ClusterNetworks = ["10.244.1.0/24"] }).ToJson(), read.ToJson());
    }

    [Fact]
    public async Task AddClient_Again_ReplacesTypesAndStartsAFreshQueue()
    {
        var store = await CreateStoreAsync();
        await store.ApplyAsync(Change(RegistrationType.AddClient, Client(1), null, Membership));
        await store.PublishAsync(MembershipEvent(1), null);
        await store.PublishAsync(MembershipEvent(2), null);

        var result = await store.ApplyAsync(Change(RegistrationType.AddClient, Client(1), null, Rg("a")));

        Assert.Equal(StatusCode.Ok, result.Status);
        Assert.Equal([Rg("a")], (await store.GetClientAsync(Client(1)))!.Types);
        Assert.Empty(await store.PeekQueueAsync(Client(1), 10));
        Assert.Single(await store.ListClientsAsync());
    }

    [Theory]
    [InlineData(RegistrationType.AddEvents)]
    [InlineData(RegistrationType.RemoveEvents)]
    [InlineData(RegistrationType.RemoveClient)]
    public async Task NotRegistered_IsFail_AndCreatesNothing(RegistrationType type)
    {
        var store = await CreateStoreAsync();

        var result = await store.ApplyAsync(Change(type, Client(1), null, Membership));

        Assert.Equal(StatusCode.Fail, result.Status);
        Assert.Null(await store.GetClientAsync(Client(1)));
        Assert.Empty(await store.ListClientsAsync());
    }

    [Fact]
    public async Task MaxClients_RefusesANewClient_NotAnExistingOne()
    {
        var store = await CreateStoreAsync();
        var two = new RegistrationLimits(2, 10);
        await store.ApplyAsync(Change(RegistrationType.AddClient, Client(1), two));
        await store.ApplyAsync(Change(RegistrationType.AddClient, Client(2), two));

        var third = await store.ApplyAsync(Change(RegistrationType.AddClient, Client(3), two));
        var again = await store.ApplyAsync(Change(RegistrationType.AddClient, Client(2), two, Membership));

        Assert.Equal(StatusCode.LowResource, third.Status);
        Assert.Equal(StatusCode.Ok, again.Status);
        Assert.Null(await store.GetClientAsync(Client(3)));
    }

    [Fact]
    public async Task MaxTypes_RefusesTheChange_AndKeepsTheOldTypes()
    {
        var store = await CreateStoreAsync();
        var two = new RegistrationLimits(10, 2);
        await store.ApplyAsync(Change(RegistrationType.AddClient, Client(1), two, Rg("a")));

        var tooManyAtOnce = await store.ApplyAsync(Change(RegistrationType.AddClient, Client(2), two, Rg("a"), Rg("b"), Rg("c")));
        var ok = await store.ApplyAsync(Change(RegistrationType.AddEvents, Client(1), two, Rg("a"), Rg("b")));
        var tooMany = await store.ApplyAsync(Change(RegistrationType.AddEvents, Client(1), two, Rg("c")));

        Assert.Equal(StatusCode.LowResource, tooManyAtOnce.Status);
        Assert.Equal(StatusCode.Ok, ok.Status);
        Assert.Equal(StatusCode.LowResource, tooMany.Status);
        Assert.Equal([Rg("a"), Rg("b")], (await store.GetClientAsync(Client(1)))!.Types);
    }

    [Fact]
    public async Task RemoveEvents_RemovesOnlyThoseTypes_UnknownOnesAreIgnored()
    {
        var store = await CreateStoreAsync();
        await store.ApplyAsync(Change(RegistrationType.AddClient, Client(1), null, Membership, Rg("a"), Rg("b")));

        var result = await store.ApplyAsync(Change(RegistrationType.RemoveEvents, Client(1), null, Rg("a"), Rg("zzz")));

        Assert.Equal(StatusCode.Ok, result.Status);
        Assert.Equal([Membership, Rg("b")], (await store.GetClientAsync(Client(1)))!.Types);
        var (_, queued) = await store.PublishAsync(RgEvent("a", "ONLINE"), null);
        Assert.Equal(0, queued);
    }

    [Fact]
    public async Task RemoveClient_DeletesRegistrationAndQueue()
    {
        var store = await CreateStoreAsync();
        await store.ApplyAsync(Change(RegistrationType.AddClient, Client(1), null, Membership));
        await store.PublishAsync(MembershipEvent(1), null);

        var result = await store.ApplyAsync(Change(RegistrationType.RemoveClient, Client(1)));
        var (_, queued) = await store.PublishAsync(MembershipEvent(2), null);

        Assert.Equal(StatusCode.Ok, result.Status);
        Assert.Equal(0, queued);
        Assert.Null(await store.GetClientAsync(Client(1)));
        Assert.Empty(await store.PeekQueueAsync(Client(1), 10));
        Assert.Empty(await store.ListClientsAsync());
    }

    [Fact]
    public async Task Publish_QueuesForExactlyTheMatchingClients()
    {
        var store = await CreateStoreAsync();
        await store.ApplyAsync(Change(RegistrationType.AddClient, Client(1), null, AllCluster));
        await store.ApplyAsync(Change(RegistrationType.AddClient, Client(2), null, Membership));
        await store.ApplyAsync(Change(RegistrationType.AddClient, Client(3), null, Rg("a")));
        await store.ApplyAsync(Change(RegistrationType.AddClient, Client(4), null, Rg("b")));
        await store.ApplyAsync(Change(RegistrationType.AddClient, Client(5), null, new EventRegistration("EC_Other")));
        await store.ApplyAsync(Change(RegistrationType.AddClient, Client(6), null,
            new EventRegistration("EC_Cluster", "ESC_cluster_rg_state", new NameValue("node_list", "n1", "n2"))));
        await store.ApplyAsync(Change(RegistrationType.AddClient, Client(7), null,
            new EventRegistration("EC_Cluster", "ESC_cluster_rg_state", new NameValue("node_list", "n1"))));

        var (stored, queued) = await store.PublishAsync(RgEvent("a", "ONLINE"), null);

        Assert.Equal(3, queued);
        foreach (var port in new[] { 1, 3, 6 })
        {
            Assert.Equal([stored.Sequence], await QueuedSequences(store, Client(port)));
        }
        foreach (var port in new[] { 2, 4, 5, 7 })
        {
            Assert.Empty(await QueuedSequences(store, Client(port)));
        }
    }

    [Fact]
    public async Task Publish_TypesWithSeveralPairs_MatchOnlyWhenEveryPairIsPresent()
    {
        var store = await CreateStoreAsync();
        var both = new EventRegistration("EC_Cluster", "ESC_cluster_rg_state", new NameValue("rg_name", "a"), new NameValue("state_list", "ONLINE", "OFFLINE"));
        var wrongSecond = new EventRegistration("EC_Cluster", null, new NameValue("rg_name", "a"), new NameValue("state_list", "OFFLINE", "OFFLINE"));
        var secondFirst = new EventRegistration("EC_Cluster", null, new NameValue("node_list", "n1", "n2"), new NameValue("rg_name", "a"));
        await store.ApplyAsync(Change(RegistrationType.AddClient, Client(1), null, both));
        await store.ApplyAsync(Change(RegistrationType.AddClient, Client(2), null, wrongSecond));
        await store.ApplyAsync(Change(RegistrationType.AddClient, Client(3), null, secondFirst, Rg("a")));

        var (stored, queued) = await store.PublishAsync(RgEvent("a", "ONLINE"), null);

        Assert.Equal(2, queued);
        Assert.Equal([stored.Sequence], await QueuedSequences(store, Client(1)));
        Assert.Empty(await QueuedSequences(store, Client(2)));
        Assert.Equal([stored.Sequence], await QueuedSequences(store, Client(3)));
    }

    [Fact]
    public async Task Publish_ValuesThatContainSeparators_AreNotConfused()
    {
        var store = await CreateStoreAsync();
        await store.ApplyAsync(Change(RegistrationType.AddClient, Client(1), null,
            new EventRegistration("EC_Cluster", "ESC_cluster_rg_state", new NameValue("rg_name", "a=b", "c"))));

        var (_, joined) = await store.PublishAsync(new CrnpEvent("EC_Cluster", "ESC_cluster_rg_state", "SUNW", "rgm", new NameValue("rg_name", "a=b,c")), null);
        var (_, split) = await store.PublishAsync(new CrnpEvent("EC_Cluster", "ESC_cluster_rg_state", "SUNW", "rgm", new NameValue("rg_name", "a", "b", "c")), null);
        var (exact, queued) = await store.PublishAsync(new CrnpEvent("EC_Cluster", "ESC_cluster_rg_state", "SUNW", "rgm", new NameValue("rg_name", "a=b", "c")), null);

        Assert.Equal((0, 0, 1), (joined, split, queued));
        Assert.Equal([exact.Sequence], await QueuedSequences(store, Client(1)));
    }

    [Fact]
    public async Task Publish_KeepsTheEventIntact_AndItsTraceParent()
    {
        var store = await CreateStoreAsync();
        await store.ApplyAsync(Change(RegistrationType.AddClient, Client(1), null, AllCluster));
        var evt = new CrnpEvent("EC_Cluster", "ESC_cluster_r_state", "ORCL", "rgm",
            new NameValue("r_name", "ünïcode \"quoted\" ]]> <x>"), new NameValue("empty", ""), new NameValue("ev_seq", "1", "2", "3"));
        const string trace = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";

        var (stored, _) = await store.PublishAsync(evt, new PublishOptions(trace));

        var entry = Assert.Single(await store.PeekQueueAsync(Client(1), 10));
        Assert.Equal(evt, entry.Event.Event);
        Assert.Equal(trace, entry.Event.TraceParent);
        Assert.Equal(stored.Sequence, entry.Event.Sequence);
        Assert.Equal(QueueEntryKind.Published, entry.Kind);
    }

    [Fact]
    public async Task Publish_SequencesIncrease_AndLatestKeepsOnePerStateKey()
    {
        var store = await CreateStoreAsync();

        var (m1, _) = await store.PublishAsync(MembershipEvent(1), null);
        var (a1, _) = await store.PublishAsync(RgEvent("a", "ONLINE"), null);
        var (m2, _) = await store.PublishAsync(MembershipEvent(2), null);
        var (b1, _) = await store.PublishAsync(RgEvent("b", "OFFLINE"), null);

        Assert.True(m1.Sequence < a1.Sequence && a1.Sequence < m2.Sequence && m2.Sequence < b1.Sequence);
        Assert.Equal([a1.Sequence, m2.Sequence, b1.Sequence], (await store.GetLatestAsync()).Select(e => e.Sequence));
    }

    [Fact]
    public async Task FirstEvents_AreTheCurrentStateOfTheNewTypes_OldestFirst_EachOnce()
    {
        var store = await CreateStoreAsync();
        await store.PublishAsync(RgEvent("a", "OFFLINE"), null);
        var (b, _) = await store.PublishAsync(RgEvent("b", "ONLINE"), null);
        var (a, _) = await store.PublishAsync(RgEvent("a", "ONLINE"), null);
        await store.PublishAsync(MembershipEvent(1), null);

        var result = await store.ApplyAsync(Change(RegistrationType.AddClient, Client(1), null,
            Rg("a"), new EventRegistration("EC_Cluster", "ESC_cluster_rg_state")));

        Assert.Equal(2, result.FirstEventsQueued);
        var queue = await store.PeekQueueAsync(Client(1), 10);
        Assert.Equal([b.Sequence, a.Sequence], queue.Select(e => e.Event.Sequence));
        Assert.All(queue, e => Assert.Equal(QueueEntryKind.FirstEvent, e.Kind));
    }

    [Fact]
    public async Task AddEvents_QueuesFirstEventsOnlyForTypesNotYetRegistered()
    {
        var store = await CreateStoreAsync();
        var (m, _) = await store.PublishAsync(MembershipEvent(1), null);
        var (a, _) = await store.PublishAsync(RgEvent("a", "ONLINE"), null);
        await store.ApplyAsync(Change(RegistrationType.AddClient, Client(1), null, Membership));

        var result = await store.ApplyAsync(Change(RegistrationType.AddEvents, Client(1), null, Membership, Rg("a")));

        Assert.Equal(1, result.FirstEventsQueued);
        Assert.Equal([m.Sequence, a.Sequence], await QueuedSequences(store, Client(1)));
    }

    [Fact]
    public async Task Ack_RemovesTheEntryOnce()
    {
        var store = await CreateStoreAsync();
        await store.ApplyAsync(Change(RegistrationType.AddClient, Client(1), null, Membership));
        await store.PublishAsync(MembershipEvent(1), null);
        var (second, _) = await store.PublishAsync(MembershipEvent(2), null);
        var head = (await store.PeekQueueAsync(Client(1), 1))[0];

        Assert.True(await store.AckLeasedAsync(Client(1), head.EntryId));
        Assert.False(await store.AckLeasedAsync(Client(1), head.EntryId));
        Assert.Equal([second.Sequence], await QueuedSequences(store, Client(1)));
        Assert.False(await store.AckLeasedAsync(Client(99), head.EntryId));
    }

    [Fact]
    public async Task IdempotencyKey_WithinItsWindow_ReturnsTheFirstEventAndQueuesNothing()
    {
        var store = await CreateStoreAsync();
        await store.ApplyAsync(Change(RegistrationType.AddClient, Client(1), null, Membership));
        var options = new PublishOptions(IdempotencyKey: "node-event-42", IdempotencyWindow: TimeSpan.FromMinutes(5));

        var first = await store.PublishAsync(MembershipEvent(1), options);
        var again = await store.PublishAsync(MembershipEvent(1), options);
        var other = await store.PublishAsync(MembershipEvent(2), options with { IdempotencyKey = "node-event-43" });

        Assert.False(first.Duplicate);
        Assert.True(again.Duplicate);
        Assert.Equal(first.Event.Sequence, again.Event.Sequence);
        Assert.Equal(first.Event.Id, again.Event.Id);
        Assert.Equal(0, again.Queued);
        Assert.False(other.Duplicate);
        Assert.Equal([first.Event.Sequence, other.Event.Sequence], await QueuedSequences(store, Client(1)));
        Assert.Equal(other.Event.Sequence, (await store.GetLatestAsync()).Single().Sequence);
    }

    [Fact]
    public async Task ClientsWithTheSamePort_OnDifferentIps_AreDifferentClients()
    {
        var store = await CreateStoreAsync();
        await store.ApplyAsync(Change(RegistrationType.AddClient, Client(9000, "10.0.0.1"), null, Membership));
        await store.ApplyAsync(Change(RegistrationType.AddClient, Client(9000, "fd00::1"), null, Rg("a")));

        var removed = await store.ApplyAsync(Change(RegistrationType.RemoveClient, Client(9000, "10.0.0.1")));

        Assert.Equal(StatusCode.Ok, removed.Status);
        var left = Assert.Single(await store.ListClientsAsync());
        Assert.Equal(Client(9000, "fd00::1"), left.Address);
    }

    [Fact]
    public async Task ConcurrentRegistrationsAndPublishes_EveryQueueIsAGaplessRunFromItsFirstEvent()
    {
        // Invariant 3: a type's first event and every later event of it land in the queue with no
        // event missing or out of order, however registrations and publishes interleave.
        var store = await CreateStoreAsync();
        await store.PublishAsync(MembershipEvent(0), null);
        var published = 0;
        using var stop = new CancellationTokenSource();
        var publisher = Task.Run(async () =>
        {
            for (var i = 1; i <= 400; i++)
            {
                await store.PublishAsync(MembershipEvent(i), null);
                Interlocked.Increment(ref published);
            }
        });
        var registrations = Task.Run(async () =>
        {
            for (var port = 1; port <= 40; port++)
            {
                await store.ApplyAsync(Change(RegistrationType.AddClient, Client(port), null, Membership));
            }
        });
        await Task.WhenAll(publisher, registrations);

        var last = (await store.GetLatestAsync()).Single().Sequence;
        for (var port = 1; port <= 40; port++)
        {
            var queue = await store.PeekQueueAsync(Client(port), 10_000);
            Assert.Equal(QueueEntryKind.FirstEvent, queue[0].Kind);
            var sequences = queue.Select(e => e.Event.Sequence).ToArray();
            Assert.Equal(Enumerable.Range((int)sequences[0], (int)(last - sequences[0] + 1)).Select(s => (long)s), sequences);
        }
    }
}
