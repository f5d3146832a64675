using System.Collections.Concurrent;
using System.Net;
using CrnpCloud.Core;
using CrnpCloud.Protocol;
using Xunit;

namespace CrnpCloud.Testing;

/// <summary>The delivery side of the store contract, for every implementation.</summary>
public abstract class DeliveryStoreContractTests
{
    private static readonly EventRegistration Membership = new("EC_Cluster", "ESC_cluster_membership");
    private static readonly CrnpEvent Event = new("EC_Cluster", "ESC_cluster_membership", "SUNW", "rgm", new NameValue("node_list", "n1"), new NameValue("state_list", "1"));
    private static readonly TimeSpan LongTtl = TimeSpan.FromMinutes(5);

    /// <summary>A fresh store; it must implement both contracts.</summary>
    protected abstract Task<ICrnpStore> CreateStoreAsync();

    private static CallbackAddress Client(int port) => new(IPAddress.Parse("10.1.0.1"), port);

    private static async Task Register(ICrnpStore store, CallbackAddress client, EventRegistration? type = null) =>
        Assert.Equal(StatusCode.Ok, (await store.ApplyAsync(new RegistrationChange(RegistrationType.AddClient, client, EquatableList.Of(type ?? Membership), RegistrationLimits.Default))).Status);

    private async Task<(ICrnpStore Store, IDeliveryStore Delivery)> Create()
    {
        var store = await CreateStoreAsync();
        return (store, store);
    }

    [Fact]
    public async Task Claim_ALoneWorkerTakesEveryPartition_ASecondGetsItsShareOnceReleased()
    {
        var (_, delivery) = await Create();

        var a = (await delivery.ClaimAsync("a", LongTtl)).Leases;
        var b = (await delivery.ClaimAsync("b", LongTtl)).Leases;
        var claimAgain = await delivery.ClaimAsync("a", LongTtl);
        var aAgain = claimAgain.Leases;
        var share = claimAgain.FairShare;
        await delivery.ReleaseAsync("a", aAgain.Skip(share).Select(l => l.Partition));
        var bAgain = (await delivery.ClaimAsync("b", LongTtl)).Leases;
        var aFinal = (await delivery.ClaimAsync("a", LongTtl)).Leases;

        Assert.Equal((delivery.Partitions + 1) / 2, share);
        Assert.Equal(delivery.Partitions, a.Count);
        Assert.Empty(b);
        Assert.Equal(a, aAgain);
        Assert.Equal(delivery.Partitions - share, bAgain.Count);
        Assert.Equal(share, aFinal.Count);
        Assert.Empty(aFinal.Select(l => l.Partition).Intersect(bAgain.Select(l => l.Partition)));
    }

    [Fact]
    public async Task LeavingWorker_IsOutOfTheFairShareAtOnce()
    {
        var (_, delivery) = await Create();
        var a = await delivery.ClaimAsync("a", LongTtl);
        await delivery.ClaimAsync("b", LongTtl);

        await delivery.ReleaseAsync("a", a.Leases.Select(l => l.Partition), leaving: true);
        var b = await delivery.ClaimAsync("b", LongTtl);

        Assert.Equal(delivery.Partitions, b.FairShare);
        Assert.Equal(delivery.Partitions, b.Leases.Count);
    }

    [Fact]
    public async Task Ack_WithAStaleToken_IsFencedOut()
    {
        var (store, delivery) = await Create();
        var client = Client(1);
        await Register(store, client);
        await store.PublishAsync(Event);
        var partition = Partitioning.Of(client, delivery.Partitions);
        var lease = (await delivery.ClaimAsync("a", LongTtl)).Leases.Single(l => l.Partition == partition);
        var entry = (await store.PeekQueueAsync(client, 1)).Single();

        var stale = await delivery.AckAsync(client, entry.EntryId, lease with { Token = lease.Token - 1 });
        var done = await delivery.AckAsync(client, entry.EntryId, lease);
        var again = await delivery.AckAsync(client, entry.EntryId, lease);

        Assert.Equal((AckResult.LeaseLost, AckResult.Done, AckResult.AlreadyGone), (stale.Result, done.Result, again.Result));
    }

    [Fact]
    public async Task Ack_SaysWhetherTheQueueIsEmptyAfterIt()
    {
        var (store, delivery) = await Create();
        var client = Client(1);
        await Register(store, client);
        await store.PublishAsync(Event);
        await store.PublishAsync(Event);
        var lease = (await delivery.ClaimAsync("a", LongTtl)).Leases.Single(l => l.Partition == Partitioning.Of(client, delivery.Partitions));
        var entries = await store.PeekQueueAsync(client, 10);

        var first = await delivery.AckAsync(client, entries[0].EntryId, lease);
        var second = await delivery.AckAsync(client, entries[1].EntryId, lease);

        Assert.Equal(2, entries.Count);
        Assert.Equal(new AckReply(AckResult.Done, QueueEmpty: false), first);
        Assert.Equal(new AckReply(AckResult.Done, QueueEmpty: true), second);
    }

    [Fact]
    public async Task AckMany_AnswersEachAckAsIfAlone_InOrder_EachFencedByItsOwnLease()
    {
        var (store, delivery) = await Create();
        var (one, two, three) = (Client(1), Client(2), Client(3));
        foreach (var client in new[] { one, two, three })
        {
            await Register(store, client);
        }
        await store.PublishAsync(Event);
        await store.PublishAsync(Event);
        var leases = (await delivery.ClaimAsync("a", LongTtl)).Leases.ToDictionary(l => l.Partition);
        Lease LeaseOf(CallbackAddress client) => leases[Partitioning.Of(client, delivery.Partitions)];
        var queued = new Dictionary<CallbackAddress, IReadOnlyList<QueueEntry>>();
        foreach (var client in new[] { one, two, three })
        {
            queued[client] = await store.PeekQueueAsync(client, 10);
        }

        var replies = await delivery.AckManyAsync(
        [
            new(one, queued[one][0].EntryId, LeaseOf(one)),
            new(two, queued[two][0].EntryId, LeaseOf(two) with { Token = LeaseOf(two).Token - 1 }),
            new(three, queued[three][0].EntryId, LeaseOf(three)),
            new(three, queued[three][1].EntryId, LeaseOf(three)),
            new(one, queued[one][0].EntryId, LeaseOf(one)),
        ]);

        Assert.Equal(
        [
            new AckReply(AckResult.Done, QueueEmpty: false),
            new AckReply(AckResult.LeaseLost, QueueEmpty: false),
            new AckReply(AckResult.Done, QueueEmpty: false),
            new AckReply(AckResult.Done, QueueEmpty: true),
            new AckReply(AckResult.AlreadyGone, QueueEmpty: false),
        ], replies);
        Assert.Equal([queued[one][1].EntryId], (await store.PeekQueueAsync(one, 10)).Select(e => e.EntryId));
        Assert.Equal(2, (await store.PeekQueueAsync(two, 10)).Count);
        Assert.Empty(await store.PeekQueueAsync(three, 10));
        Assert.Equal(queued[three][1].Event.Sequence, (await delivery.GetDeliveryStatusAsync(three))?.LastDeliveredSequence);
        Assert.Empty(await delivery.AckManyAsync([]));
    }

    [Fact]
    public async Task DeliveryStatus_CountsFailuresUntilADelivery_AndStartsAfreshOnReRegistration()
    {
        var (store, delivery) = await Create();
        var client = Client(1);
        var unknown = Client(2);
        await Register(store, client);
        await store.PublishAsync(Event);
        await store.PublishAsync(Event);
        var partition = Partitioning.Of(client, delivery.Partitions);
        var lease = (await delivery.ClaimAsync("a", LongTtl)).Leases.Single(l => l.Partition == partition);

        var fresh = await delivery.GetDeliveryStatusAsync(client);
        Assert.Equal(1, await delivery.RecordFailureAsync(client, "ConnectionRefused"));
        Assert.Equal(2, await delivery.RecordFailureAsync(client, "TimedOut"));
        Assert.Equal(0, await delivery.RecordFailureAsync(unknown, "ConnectionRefused"));
        var failing = await delivery.GetDeliveryStatusAsync(client);
        var entry = (await store.PeekQueueAsync(client, 1)).Single();
        Assert.Equal(AckResult.Done, (await delivery.AckAsync(client, entry.EntryId, lease)).Result);
        var delivered = await delivery.GetDeliveryStatusAsync(client);
        await Register(store, client);
        var reRegistered = await delivery.GetDeliveryStatusAsync(client);

        Assert.Equal(new DeliveryStatus(2, null, 0, null, null), fresh);
        Assert.Null(await delivery.GetDeliveryStatusAsync(unknown));
        Assert.Equal((2L, 2, "TimedOut"), (failing!.Backlog, failing.ConsecutiveFailures, failing.LastFailure));
        Assert.NotNull(failing.LastFailureAt);
        Assert.Null(failing.LastDelivery);
        Assert.Equal((1L, 0, "TimedOut"), (delivered!.Backlog, delivered.ConsecutiveFailures, delivered.LastFailure));
        Assert.NotNull(delivered.LastDelivery);
        Assert.Equal(entry.Event.Sequence, delivered.LastDeliveredSequence);
        Assert.Equal((0, (DateTimeOffset?)null, (long?)null), (reRegistered!.ConsecutiveFailures, reRegistered.LastDelivery, reRegistered.LastDeliveredSequence));
    }

    [Fact]
    public async Task ExpiredLease_IsTakenOver_WithANewToken_AndTheOldOneIsFencedOut()
    {
        var (store, delivery) = await Create();
        var client = Client(2);
        await Register(store, client);
        await store.PublishAsync(Event);
        var partition = Partitioning.Of(client, delivery.Partitions);
        var old = (await delivery.ClaimAsync("a", TimeSpan.FromMilliseconds(200))).Leases.Single(l => l.Partition == partition);

        Lease? taken = null;
        await Eventually.TrueAsync(async () =>
        {
            AdvanceClock(TimeSpan.FromMilliseconds(250));
            taken = (await delivery.ClaimAsync("b", LongTtl)).Leases.FirstOrDefault(l => l.Partition == partition);
            return taken is { Token: > 0 };
        }, "worker b takes the expired partition");

        Assert.True(taken!.Value.Token > old.Token);
        var entry = (await store.PeekQueueAsync(client, 1)).Single();
        Assert.Equal(AckResult.LeaseLost, (await delivery.AckAsync(client, entry.EntryId, old)).Result);
        Assert.Equal(AckResult.Done, (await delivery.AckAsync(client, entry.EntryId, taken.Value)).Result);
    }

    [Fact]
    public async Task WakeUps_ReachTheClientsPartition_OnPublishAndOnFirstEvents()
    {
        var (store, delivery) = await Create();
        var early = Client(3);
        await store.PublishAsync(Event);
        var late = Enumerable.Range(100, 200).Select(Client).First(c => Partitioning.Of(c, delivery.Partitions) == Partitioning.Of(early, delivery.Partitions) && c != early);
        var woken = new ConcurrentQueue<CallbackAddress>();
        using var subscription = delivery.OnWork(Partitioning.Of(early, delivery.Partitions), woken.Enqueue);
        await SubscriptionSettledAsync(store, delivery, early);
        woken.Clear();

        await Register(store, late);
        await Eventually.TrueAsync(() => Task.FromResult(woken.Contains(late)), "a first event wakes its client");
        await store.PublishAsync(Event);
        await Eventually.TrueAsync(() => Task.FromResult(woken.Count(c => c == early) >= 1 && woken.Count(c => c == late) >= 2), "a publish wakes every matching client");
    }

    [Fact]
    public async Task ClientsWithWork_ListsOnlyNonEmptyQueuesOfThePartition()
    {
        var (store, delivery) = await Create();
        var clients = Enumerable.Range(1, 40).Select(Client).ToList();
        foreach (var client in clients.Take(20))
        {
            await Register(store, client);
        }
        await store.PublishAsync(Event);
        foreach (var client in clients.Skip(20))
        {
            // A type with no current state: no first event, so an empty queue.
            await Register(store, client, new EventRegistration("EC_Cluster", "ESC_cluster_r_state", new NameValue("r_name", "none")));
        }

        await store.PublishAsync(Event);
        var withWork = new List<CallbackAddress>();
        for (var p = 0; p < delivery.Partitions; p++)
        {
            var found = await delivery.ClientsWithWorkAsync(p);
            Assert.All(found, c => Assert.Equal(p, Partitioning.Of(c.Client, delivery.Partitions)));
            Assert.All(found, c => Assert.Equal(2, c.Entries));
            withWork.AddRange(found.Select(c => c.Client));
        }

        Assert.Equal(clients.Take(20).Order(Comparer<CallbackAddress>.Create((x, y) => x.Port.CompareTo(y.Port))), withWork.Order(Comparer<CallbackAddress>.Create((x, y) => x.Port.CompareTo(y.Port))));
    }

    [Fact]
    public async Task RemoveFailedClient_NeedsTheLease_RemovesEverything_AndRecordsWhy()
    {
        var (store, delivery) = await Create();
        var client = Client(4);
        await Register(store, client);
        await store.PublishAsync(Event);
        var lease = (await delivery.ClaimAsync("a", LongTtl)).Leases.Single(l => l.Partition == Partitioning.Of(client, delivery.Partitions));

        var fenced = await delivery.RemoveFailedClientAsync(client, "refused", lease with { Token = lease.Token + 1000 });
        Assert.NotNull(await store.GetClientAsync(client));
        var removed = await delivery.RemoveFailedClientAsync(client, "connection refused 4 times", lease);
        var again = await delivery.RemoveFailedClientAsync(client, "again", lease);

        Assert.Equal((AckResult.LeaseLost, AckResult.Done, AckResult.AlreadyGone), (fenced, removed, again));
        Assert.Null(await store.GetClientAsync(client));
        Assert.Empty(await store.PeekQueueAsync(client, 10));
        Assert.Empty(await delivery.ClientsWithWorkAsync(Partitioning.Of(client, delivery.Partitions)));
        var record = Assert.Single(await delivery.ListRemovalsAsync(10));
        Assert.Equal((client, "connection refused 4 times"), (record.Client, record.Reason));
    }

    [Fact]
    public async Task ReadRemovals_FollowsACursor_OldestFirst_InPages()
    {
        var (store, delivery) = await Create();
        var lease = (await delivery.ClaimAsync("a", LongTtl)).Leases;
        async Task Remove(CallbackAddress client)
        {
            await Register(store, client);
            Assert.Equal(AckResult.Done, await delivery.RemoveFailedClientAsync(client, $"gone {client.Port}", lease.Single(l => l.Partition == Partitioning.Of(client, delivery.Partitions))));
        }

        var empty = await delivery.ReadRemovalsAsync(null, 10);
        for (var port = 1; port <= 3; port++)
        {
            await Remove(Client(port));
        }
        var first = await delivery.ReadRemovalsAsync(null, 2);
        var second = await delivery.ReadRemovalsAsync(first.Cursor, 2);
        var none = await delivery.ReadRemovalsAsync(second.Cursor, 2);
        await Remove(Client(4));
        var later = await delivery.ReadRemovalsAsync(none.Cursor, 10);

        Assert.Equal((0, (string?)null), (empty.Removals.Count, empty.Cursor));
        Assert.Equal([1, 2], first.Removals.Select(r => r.Client.Port));
        Assert.Equal("gone 1", first.Removals[0].Reason);
        Assert.Equal([3], second.Removals.Select(r => r.Client.Port));
        Assert.Empty(none.Removals);
        Assert.Equal(second.Cursor, none.Cursor);
        Assert.Equal([4], later.Removals.Select(r => r.Client.Port));
        Assert.NotEqual(none.Cursor, later.Cursor);
    }

    [Fact]
    public async Task Resync_QueuesTheCurrentStateOfEveryType_BehindWhatIsQueued_Fenced()
    {
        var (store, delivery) = await Create();
        var client = Client(5);
        var rg = new EventRegistration("EC_Cluster", "ESC_cluster_rg_state", new NameValue("rg_name", "a"));
        await store.PublishAsync(Event);
        await store.ApplyAsync(new RegistrationChange(RegistrationType.AddClient, client, EquatableList.Of(Membership, rg), RegistrationLimits.Default));
        var rgState = await store.PublishAsync(new CrnpEvent("EC_Cluster", "ESC_cluster_rg_state", "SUNW", "rgm", new NameValue("rg_name", "a")));
        var lease = (await delivery.ClaimAsync("a", LongTtl)).Leases.Single(l => l.Partition == Partitioning.Of(client, delivery.Partitions));

        var fenced = await delivery.ResyncAsync(client, lease with { Token = lease.Token + 1000 });
        var (result, queued) = await delivery.ResyncAsync(client, lease);
        var missing = await delivery.ResyncAsync(Client(6), lease);

        Assert.Equal(AckResult.LeaseLost, fenced.Result);
        Assert.Equal((AckResult.Done, 2), (result, queued));
        Assert.Equal(AckResult.AlreadyGone, missing.Result);
        var queue = await store.PeekQueueAsync(client, 10);
        Assert.Equal(
            [QueueEntryKind.FirstEvent, QueueEntryKind.Published, QueueEntryKind.Resync, QueueEntryKind.Resync],
            queue.Select(e => e.Kind));
        Assert.Equal(rgState.Event.Sequence, queue[3].Event.Sequence);
    }

    [Fact]
    public async Task ClientsInPartition_AndStoreIdentity()
    {
        var (store, delivery) = await Create();
        var clients = Enumerable.Range(1, 30).Select(Client).ToList();
        foreach (var client in clients)
        {
            await Register(store, client);
        }
        await store.ApplyAsync(new RegistrationChange(RegistrationType.RemoveClient, clients[0], EquatableList<EventRegistration>.Empty, RegistrationLimits.Default));

        var listed = new List<CallbackAddress>();
        for (var p = 0; p < delivery.Partitions; p++)
        {
            var found = await delivery.ClientsInPartitionAsync(p);
            Assert.All(found, c => Assert.Equal(p, Partitioning.Of(c, delivery.Partitions)));
            listed.AddRange(found);
        }

        Assert.Equal(clients.Skip(1).Select(c => c.Port).Order(), listed.Select(c => c.Port).Order());
        var identity = await delivery.StoreIdentityAsync();
        Assert.False(string.IsNullOrEmpty(identity));
        Assert.Equal(identity, await delivery.StoreIdentityAsync());
    }

    [Fact]
    public async Task SyncMarks_AreSetOnlyByTheLeaseHolder()
    {
        var (_, delivery) = await Create();
        var lease = (await delivery.ClaimAsync("a", LongTtl)).Leases[0];

        var initialized = await delivery.InitializeSyncMarksAsync("instance-1");
        var again = await delivery.InitializeSyncMarksAsync("instance-2");
        var fenced = await delivery.MarkSyncedAsync(lease with { Token = lease.Token + 1000 }, "x");
        var done = await delivery.MarkSyncedAsync(lease, "instance-3");

        Assert.Equal((true, false), (initialized, again));
        Assert.Equal((AckResult.LeaseLost, AckResult.Done), (fenced, done));
        var marks = await delivery.SyncMarksAsync();
        Assert.Equal(delivery.Partitions, marks.Count);
        Assert.Equal("instance-3", marks[lease.Partition]);
        Assert.All(marks.Where(m => m.Key != lease.Partition), m => Assert.Equal("instance-1", m.Value));
    }

    /// <summary>Moves the store's clock forward where the store has a fake one; real-clock stores just wait.</summary>
    protected virtual void AdvanceClock(TimeSpan by)
    {
    }

    // A subscription may take a moment to be active (Pub/Sub): publish until it is heard.
    private static async Task SubscriptionSettledAsync(ICrnpStore store, IDeliveryStore delivery, CallbackAddress client)
    {
        var heard = new ConcurrentQueue<CallbackAddress>();
        using var probe = delivery.OnWork(Partitioning.Of(client, delivery.Partitions), heard.Enqueue);
        await Register(store, client);
        await Eventually.TrueAsync(async () =>
        {
            await store.PublishAsync(Event);
            return heard.Contains(client);
        }, "the wake-up subscription is active");
    }
}
