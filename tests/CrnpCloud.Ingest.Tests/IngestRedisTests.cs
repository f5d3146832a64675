using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using CrnpCloud.Core;
using CrnpCloud.Ingest.V1;
using CrnpCloud.Protocol;
using CrnpCloud.Testing;
using Grpc.Core;
using StackExchange.Redis;
using StatusCode = Grpc.Core.StatusCode;

namespace CrnpCloud.Ingest.Tests;

/// <summary>Ingest on a real redis-server: order and fan-out under concurrency, races with registration, Redis going away.</summary>
public sealed class IngestRedisTests(RedisServerFixture redis) : IClassFixture<RedisServerFixture>
{
    private static readonly RegistrationLimits Limits = new(10_000, 100);

    private static CallbackAddress Client(int port) => new(IPAddress.Loopback, port);

    private static EventRegistration TypeFor(int client) => (client % 5) switch
    {
        0 => new EventRegistration("EC_Cluster"),
        1 => new EventRegistration("EC_Cluster", "ESC_cluster_membership"),
        2 => new EventRegistration("EC_Cluster", "ESC_cluster_rg_state", new Protocol.NameValue("rg_name", "rg" + (client % 10))),
        3 => new EventRegistration("EC_Cluster", "ESC_cluster_r_state", new Protocol.NameValue("r_name", "r" + (client % 7))),
        _ => new EventRegistration("EC_Cluster", "ESC_cluster_rg_state"),
    };

    private static PublishRequest EventFor(int publisher, int i) => (i % 3) switch
    {
        0 => Events.Membership(publisher, i),
        1 => Events.Rg("rg" + (i % 10), i % 2 == 0 ? "ONLINE" : "OFFLINE"),
        _ => new PublishRequest
        {
            Event = new Event { Class = "EC_Cluster", Subclass = "ESC_cluster_r_state", Nvpairs = { Events.Pair("r_name", "r" + (i % 7)), Events.Pair("state_list", "ONLINE") } },
        },
    };

    [Fact]
    public async Task EightPublishers_TwoHundredClients_EveryQueueHoldsExactlyItsEvents_InLogOrder()
    {
        var store = RedisStores.Create(redis.Connection);
        for (var c = 0; c < 200; c++)
        {
            var types = c % 11 == 0 ? new[] { TypeFor(c), TypeFor(c + 1) } : [TypeFor(c)];
            await store.ApplyAsync(new RegistrationChange(RegistrationType.AddClient, Client(10_000 + c), new EquatableList<EventRegistration>(types), Limits));
        }
        await using var ingest = await IngestHost.StartAsync(store);

        var published = new ConcurrentBag<(long Sequence, CrnpEvent Event)>();
        await Task.WhenAll(Enumerable.Range(0, 8).Select(p => Task.Run(async () =>
        {
            for (var i = 0; i < 1000; i++)
            {
                var request = EventFor(p, i);
                var reply = await ingest.Client.PublishAsync(request);
                published.Add((reply.Sequence, EventValidator.ToEvent(request, new IngestOptions())));
            }
        })));

        var inOrder = published.OrderBy(e => e.Sequence).ToList();
        Assert.Equal(8000, inOrder.Select(e => e.Sequence).Distinct().Count());
        var clients = await store.ListClientsAsync();
        Assert.Equal(200, clients.Count);
        foreach (var client in clients)
        {
            var expected = inOrder.Where(e => EventMatcher.MatchesAny(client.Types, e.Event)).Select(e => e.Sequence).ToArray();
            var queued = (await store.PeekQueueAsync(client.Address, 20_000)).Select(e => e.Event.Sequence).ToArray();
            Assert.Equal(expected, queued);
        }
    }

    [Fact]
    public async Task RegistrationRace_AfterAddReplyQueued_AfterRemoveReplyNot_FirstEventFirst()
    {
        // Invariant 3 through the real edge and ingest: a publish that starts after an ADD reply is
        // queued for that client; one that starts after a REMOVE_EVENTS reply is not.
        var store = RedisStores.Create(redis.Connection);
        await using var ingest = await IngestHost.StartAsync(store);
        await using var edge = await ServiceHost.StartAsync(store, b => Edge.EdgeServiceCollectionExtensions.AddCrnpEdge(b),
            settings: new Dictionary<string, string?> { ["Crnp:Edge:Port"] = "0", ["Crnp:Edge:ListenAddress"] = "127.0.0.1" });
        var edgeEndpoint = new IPEndPoint(IPAddress.Loopback, edge.Port);
        var clock = Stopwatch.StartNew();
        var sends = new ConcurrentBag<(TimeSpan SentAt, TimeSpan RepliedAt, long Sequence)>();
        using var stop = new CancellationTokenSource();
        var publishers = Enumerable.Range(0, 2).Select(p => Task.Run(async () =>
        {
            var i = 0;
            while (!stop.IsCancellationRequested)
            {
                var sentAt = clock.Elapsed;
                var reply = await ingest.Client.PublishAsync(Events.Membership(p, i++));
                sends.Add((sentAt, clock.Elapsed, reply.Sequence));
            }
        })).ToArray();

        var membership = new EventRegistration("EC_Cluster", "ESC_cluster_membership");
        var windows = new List<(int Port, TimeSpan Added, TimeSpan RemoveSent, TimeSpan Removed)>();
        for (var port = 30_000; port < 30_030; port++)
        {
            Assert.Equal(Protocol.StatusCode.Ok, (await CrnpTestClient.RegisterAsync(edgeEndpoint, new CallbackRegistration(RegistrationType.AddClient, port, membership))).Status);
            var added = clock.Elapsed;
            await Eventually.TrueAsync(() => Task.FromResult(sends.Any(s => s.SentAt > added)), "a publish starts after the ADD reply");
            var removeSent = clock.Elapsed;
            Assert.Equal(Protocol.StatusCode.Ok, (await CrnpTestClient.RegisterAsync(edgeEndpoint, new CallbackRegistration(RegistrationType.RemoveEvents, port, membership))).Status);
            windows.Add((port, added, removeSent, clock.Elapsed));
        }
        var removedLast = clock.Elapsed;
        await Eventually.TrueAsync(() => Task.FromResult(sends.Any(s => s.SentAt > removedLast)), "a publish starts after the last REMOVE reply");
        await stop.CancelAsync();
        await Task.WhenAll(publishers);

        foreach (var (port, added, removeSent, removed) in windows)
        {
            var queue = await store.PeekQueueAsync(Client(port), 100_000);
            var sequences = queue.Select(e => e.Event.Sequence).ToHashSet();

            // Started after the ADD reply and finished before the REMOVE was sent: must be queued.
            // Publishes overlapping the REMOVE may land on either side of it.
            var mustHave = sends.Where(s => s.SentAt > added && s.RepliedAt < removeSent)
                .Select(s => s.Sequence).Where(s => !sequences.Contains(s)).ToList();
            Assert.True(mustHave.Count == 0, $"client {port}: events published after ADD missing: {string.Join(",", mustHave)}");
            var mustNot = sends.Where(s => s.SentAt > removed).Select(s => s.Sequence).Where(sequences.Contains).ToList();
            Assert.True(mustNot.Count == 0, $"client {port}: events published after REMOVE queued: {string.Join(",", mustNot)}");
            if (queue.Count > 0 && queue[0].Kind == QueueEntryKind.FirstEvent)
            {
                Assert.All(queue.Skip(1), e => Assert.True(e.Event.Sequence > queue[0].Event.Sequence));
            }
            Assert.Equal(queue.Select(e => e.Event.Sequence).Order(), queue.Select(e => e.Event.Sequence));
        }
    }

    [Fact]
    public async Task RedisStoppedMidRun_IsUnavailable_AndNoEventIsHalfWritten()
    {
        await using var own = await RedisServer.StartAsync();
        using var connection = await RedisStores.ConnectAsync(own);
        var prefix = RedisStores.UniquePrefix();
        var store = RedisStores.Create(connection, prefix);
        for (var c = 0; c < 20; c++)
        {
            await store.ApplyAsync(new RegistrationChange(RegistrationType.AddClient, Client(40_000 + c), EquatableList.Of(TypeFor(c)), Limits));
        }
        await using var ingest = await IngestHost.StartAsync(store);
        var acknowledged = new ConcurrentBag<long>();
        var unavailable = 0;
        using var stop = new CancellationTokenSource();
        var publisher = Task.Run(async () =>
        {
            for (var i = 0; !stop.IsCancellationRequested; i++)
            {
                try
                {
                    acknowledged.Add((await ingest.Client.PublishAsync(EventFor(0, i))).Sequence);
                }
                catch (RpcException ex) when (ex.StatusCode == StatusCode.Unavailable)
                {
                    Interlocked.Increment(ref unavailable);
                }
            }
        });

        await Eventually.TrueAsync(() => Task.FromResult(acknowledged.Count >= 200), "some events are published");
        await own.StopAsync();
        await Eventually.TrueAsync(() => Task.FromResult(Volatile.Read(ref unavailable) >= 20), "publishes are refused while redis is down");
        await own.StartAsync(CancellationToken.None);
        await Eventually.TrueAsync(() => Task.FromResult(acknowledged.Count >= 400), "publishing resumes after redis is back");
        await stop.CancelAsync();
        await publisher;

        // Every event in the log reached every matching queue (no half-written fan-out), and every
        // acknowledged event is in the log.
        var logged = (await store.ReadLogAsync(100_000)).ToDictionary(e => e.Sequence);
        Assert.Subset(logged.Keys.ToHashSet(), acknowledged.ToHashSet());
        foreach (var client in await store.ListClientsAsync())
        {
            var expected = logged.Values.Where(e => EventMatcher.MatchesAny(client.Types, e.Event)).Select(e => e.Sequence).Order().ToArray();
            var queued = (await store.PeekQueueAsync(client.Address, 100_000)).Select(e => e.Event.Sequence).ToArray();
            Assert.Equal(expected, queued);
        }
    }
}
