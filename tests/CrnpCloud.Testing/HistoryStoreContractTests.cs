using System.Net;
using CrnpCloud.Core;
using CrnpCloud.Protocol;
using Xunit;

namespace CrnpCloud.Testing;

/// <summary>
/// The event log read back, replays and dead letters (IEventHistoryStore, PROTOCOL.md section 11),
/// for every store implementation.
/// </summary>
public abstract class HistoryStoreContractTests
{
    private static readonly EventRegistration Membership = new("EC_Cluster", "ESC_cluster_membership");
    private static readonly TimeSpan LongTtl = TimeSpan.FromMinutes(5);

    /// <summary>A fresh store with these limits.</summary>
    protected abstract Task<ICrnpStore> CreateStoreAsync(int logMaxLength, DeadLetterLimits deadLetters);

    /// <summary>Moves the store's clock forward where the store has a fake one; real-clock stores just wait.</summary>
    protected virtual void AdvanceClock(TimeSpan by)
    {
    }

    private async Task<(ICrnpStore Store, IDeliveryStore Delivery, IEventHistoryStore History)> Create(int logMaxLength = 100_000, DeadLetterLimits? deadLetters = null)
    {
        var store = await CreateStoreAsync(logMaxLength, deadLetters ?? new DeadLetterLimits());
        return (store, store, store);
    }

    private static CallbackAddress Client(int port) => new(IPAddress.Parse("10.2.0.1"), port);

    private static CrnpEvent Member(int n) => new("EC_Cluster", "ESC_cluster_membership", "SUNW", "rgm", new NameValue("node_list", "n" + n));

    private static readonly CrnpEvent RgEvent = new("EC_Cluster", "ESC_cluster_rg_state", "SUNW", "rgm", new NameValue("rg_name", "a"));

    private static async Task Register(ICrnpStore store, CallbackAddress client) =>
        Assert.Equal(StatusCode.Ok, (await store.ApplyAsync(new RegistrationChange(RegistrationType.AddClient, client, EquatableList.Of(Membership), RegistrationLimits.Default))).Status);

    private static async Task<Lease> LeaseOf(IDeliveryStore delivery, CallbackAddress client) =>
        (await delivery.ClaimAsync("w", LongTtl)).Leases.Single(l => l.Partition == Partitioning.Of(client, delivery.Partitions));

    [Fact]
    public async Task ReadEvents_AfterASequence_OrTheLast_WithTheLogsBounds()
    {
        var (store, _, history) = await Create();
        var published = new List<long>();
        for (var i = 0; i < 5; i++)
        {
            published.Add((await store.PublishAsync(i == 2 ? RgEvent : Member(i))).Event.Sequence);
        }

        var after = await history.ReadEventsAsync(published[1], 10);
        var last = await history.ReadEventsAsync(null, 2);
        var page = await history.ReadEventsAsync(published[0], 2);

        Assert.Equal(published.Skip(2), after.Events.Select(e => e.Sequence));
        Assert.Equal("ESC_cluster_rg_state", after.Events[0].Event.Subclass);
        Assert.Equal(published.Skip(3), last.Events.Select(e => e.Sequence));
        Assert.Equal(published.Skip(1).Take(2), page.Events.Select(e => e.Sequence));
        Assert.Equal((published[0], published[4]), (after.OldestSequence, after.NewestSequence));
    }

    [Fact]
    public async Task Replay_QueuesTheMatchingEventsAfterTheSequence_InOrder_BehindTheQueue_AndWakesTheClient()
    {
        var (store, delivery, history) = await Create();
        var client = Client(1);
        await Register(store, client);
        var e1 = (await store.PublishAsync(Member(1))).Event.Sequence;
        await store.PublishAsync(RgEvent);
        var e2 = (await store.PublishAsync(Member(2))).Event.Sequence;
        var e3 = (await store.PublishAsync(Member(3))).Event.Sequence;
        var queued = await store.PeekQueueAsync(client, 10);
        await store.AckLeasedAsync(client, queued[0].EntryId);

        var replay = await history.ReplayAsync(client, e1);
        var unknown = await history.ReplayAsync(Client(99), e1);

        Assert.Equal((ReplayStatus.Done, 2), (replay.Status, replay.Queued));
        Assert.Equal(ReplayStatus.NotRegistered, unknown.Status);
        var queue = await store.PeekQueueAsync(client, 10);
        Assert.Equal([e2, e3, e2, e3], queue.Select(e => e.Event.Sequence));
        Assert.Equal([QueueEntryKind.Published, QueueEntryKind.Published, QueueEntryKind.Replay, QueueEntryKind.Replay], queue.Select(e => e.Kind));
        Assert.Contains(await delivery.ClientsWithWorkAsync(Partitioning.Of(client, delivery.Partitions)), b => b.Client == client && b.Entries == 4);

        // Each entry holds its own reference to the payload: acking the published ones keeps the replayed ones whole.
        await store.AckLeasedAsync(client, queue[0].EntryId);
        await store.AckLeasedAsync(client, queue[1].EntryId);
        var rest = await store.PeekQueueAsync(client, 10);
        Assert.Equal([("n2", e2), ("n3", e3)], rest.Select(e => (e.Event.Event.NameValues[0].Values[0], e.Event.Sequence)));
    }

    [Fact]
    public async Task Replay_FromBeforeTheLogsRetention_IsOutOfRange_FromItsOldestEntry_Works()
    {
        var (store, _, history) = await Create(logMaxLength: 1000);
        var client = Client(2);
        await Register(store, client);
        for (var n = 0; (await history.ReadEventsAsync(null, 0)).OldestSequence <= 1; n++)
        {
            Assert.True(n < 50, "the log was never trimmed");
            for (var i = 0; i < 100; i++)
            {
                await store.PublishAsync(RgEvent);
            }
        }
        var lastMember = (await store.PublishAsync(Member(1))).Event.Sequence;
        var bounds = await history.ReadEventsAsync(null, 0);

        var tooOld = await history.ReplayAsync(client, bounds.OldestSequence - 2);
        var oldest = await history.ReplayAsync(client, bounds.OldestSequence - 1);

        Assert.Equal((ReplayStatus.OutOfRange, bounds.OldestSequence), (tooOld.Status, tooOld.OldestSequence));
        Assert.Equal((ReplayStatus.Done, 1), (oldest.Status, oldest.Queued));
        Assert.Equal([lastMember, lastMember], (await store.PeekQueueAsync(client, 10)).Select(e => e.Event.Sequence));
    }

    [Fact]
    public async Task RemovedByTheDeliveryPool_ItsUndeliveredEventsAreDeadLetters_ReplayedInOrderOnceRegisteredAgain()
    {
        var (store, delivery, history) = await Create();
        var client = Client(3);
        await Register(store, client);
        var sequences = new List<long>();
        for (var i = 1; i <= 3; i++)
        {
            sequences.Add((await store.PublishAsync(Member(i))).Event.Sequence);
        }
        var lease = await LeaseOf(delivery, client);
        Assert.Equal(AckResult.Done, (await delivery.AckAsync(client, (await store.PeekQueueAsync(client, 1))[0].EntryId, lease)).Result);
        Assert.Equal(AckResult.Done, await delivery.RemoveFailedClientAsync(client, "connection refused 4 times", lease));

        var letters = await history.ListDeadLettersAsync(client, 10);
        var notYet = await history.ReplayDeadLettersAsync(client);

        Assert.Equal(sequences.Skip(1), letters.Select(l => l.Event.Sequence));
        Assert.All(letters, l => Assert.Equal(("connection refused 4 times", QueueEntryKind.Published), (l.Reason, l.Kind)));
        Assert.Equal("n2", letters[0].Event.Event.NameValues[0].Values[0]);
        Assert.Equal(ReplayStatus.NotRegistered, notYet.Status);
        Assert.Equal(2, (await history.ListDeadLettersAsync(client, 10)).Count);
        Assert.Equal(client, Assert.Single(await delivery.ListRemovalsAsync(10)).Client);

        await Register(store, client); // its first event: the latest membership (n3)
        var replayed = await history.ReplayDeadLettersAsync(client);

        Assert.Equal((ReplayStatus.Done, 2), (replayed.Status, replayed.Queued));
        Assert.Empty(await history.ListDeadLettersAsync(client, 10));
        var queue = await store.PeekQueueAsync(client, 10);
        Assert.Equal([sequences[2], sequences[1], sequences[2]], queue.Select(e => e.Event.Sequence));
        Assert.Equal([QueueEntryKind.FirstEvent, QueueEntryKind.Replay, QueueEntryKind.Replay], queue.Select(e => e.Kind));
        Assert.Equal("n2", queue[1].Event.Event.NameValues[0].Values[0]);
        Assert.Equal((ReplayStatus.Done, 0), ((await history.ReplayDeadLettersAsync(client)).Status, (await history.ReplayDeadLettersAsync(client)).Queued));
    }

    [Fact]
    public async Task RemovedExplicitly_LeavesNoDeadLetters()
    {
        var (store, _, history) = await Create();
        var client = Client(4);
        await Register(store, client);
        await store.PublishAsync(Member(1));

        await store.ApplyAsync(new RegistrationChange(RegistrationType.RemoveClient, client, EquatableList<EventRegistration>.Empty, RegistrationLimits.Default));

        Assert.Empty(await history.ListDeadLettersAsync(client, 10));
    }

    [Fact]
    public async Task DeadLetters_KeepTheNewest_WithinTheCountLimit()
    {
        var (store, delivery, history) = await Create(deadLetters: new DeadLetterLimits { DeadLetterMaxCount = 2 });
        var client = Client(5);
        await Register(store, client);
        var sequences = new List<long>();
        for (var i = 1; i <= 3; i++)
        {
            sequences.Add((await store.PublishAsync(Member(i))).Event.Sequence);
        }

        await delivery.RemoveFailedClientAsync(client, "refused", await LeaseOf(delivery, client));

        Assert.Equal(sequences.Skip(1), (await history.ListDeadLettersAsync(client, 10)).Select(l => l.Event.Sequence));
    }

    [Fact]
    public async Task DeadLetters_AreDropped_AfterTheAgeLimit()
    {
        var (store, delivery, history) = await Create(deadLetters: new DeadLetterLimits { DeadLetterMaxAge = TimeSpan.FromSeconds(1) });
        var client = Client(6);
        await Register(store, client);
        await store.PublishAsync(Member(1));
        await delivery.RemoveFailedClientAsync(client, "refused", await LeaseOf(delivery, client));
        Assert.Single(await history.ListDeadLettersAsync(client, 10));

        await Eventually.TrueAsync(async () =>
        {
            AdvanceClock(TimeSpan.FromMilliseconds(250));
            return (await history.ListDeadLettersAsync(client, 10)).Count == 0;
        }, "the dead letter is older than the age limit");
        await Register(store, client);
        Assert.Equal(0, (await history.ReplayDeadLettersAsync(client)).Queued);
    }
}
