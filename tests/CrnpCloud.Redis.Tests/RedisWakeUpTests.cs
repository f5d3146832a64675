using System.Collections.Concurrent;
using System.Net;
using CrnpCloud.Core;
using CrnpCloud.Protocol;
using CrnpCloud.Testing;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using StackExchange.Redis;

namespace CrnpCloud.Redis.Tests;

/// <summary>
/// Wake-ups and the busy set as they sit in Redis: one channel and one set for every partition, each
/// worker keeping its own partitions' clients; what an older version left per partition still counts.
/// </summary>
public sealed class RedisWakeUpTests(RedisServerFixture redis) : IClassFixture<RedisServerFixture>
{
    private static readonly CrnpEvent Event = new("EC_Cluster", "ESC_cluster_membership", "SUNW", "rgm", new NameValue("node_list", "n1"));

    private static async Task RegisterAsync(ICrnpStore store, CallbackAddress client) =>
        Assert.Equal(StatusCode.Ok, (await store.ApplyAsync(new RegistrationChange(RegistrationType.AddClient, client,
            EquatableList.Of(new EventRegistration("EC_Cluster", "ESC_cluster_membership")), RegistrationLimits.Default))).Status);

    [Fact]
    public async Task OnePublish_WakesEachPartitionsHandler_WithOnlyItsOwnClients()
    {
        var store = RedisStores.Create(redis.Connection, RedisStores.UniquePrefix());
        var clients = Enumerable.Range(1, 40).Select(p => new CallbackAddress(IPAddress.Parse("10.2.0.1"), p)).ToList();
        foreach (var client in clients)
        {
            await RegisterAsync(store, client);
        }
        var heard = new ConcurrentDictionary<int, ConcurrentBag<CallbackAddress>>();
        var subscriptions = Enumerable.Range(0, store.Partitions)
            .Select(p => store.OnWork(p, c => heard.GetOrAdd(p, _ => []).Add(c))).ToList();

        await Eventually.TrueAsync(async () =>
        {
            await store.PublishAsync(Event);
            return clients.All(c => heard.Values.Any(b => b.Contains(c)));
        }, "every client is woken");

        Assert.All(heard, h => Assert.All(h.Value, c => Assert.Equal(h.Key, Partitioning.Of(c, store.Partitions))));
        subscriptions.ForEach(s => s.Dispose());
    }

    [Fact]
    public async Task AnOlderVersionsBusySet_IsFoldedWhenAPartitionIsFirstLookedAt_ThenEveryFoldInterval_NotOnEveryRescan()
    {
        var prefix = RedisStores.UniquePrefix();
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var store = new RedisStore(redis.Connection, Options.Create(new RedisStoreOptions { KeyPrefix = prefix }), time);
        var db = redis.Connection.GetDatabase();
        var client = new CallbackAddress(IPAddress.Parse("10.2.0.3"), 7000);
        await RegisterAsync(store, client);
        await store.PublishAsync(Event);
        var partition = Partitioning.Of(client, store.Partitions);
        var busy = (RedisKey)(prefix + "{default}:busy");
        var older = (RedisKey)(prefix + "{default}:busy:" + partition);

        // An older version's ingest (a rolling update) put the client in the partition's own set only.
        async Task OlderIngestMarksBusyAsync()
        {
            Assert.True(await db.SetRemoveAsync(busy, client.ToString()));
            await db.SetAddAsync(older, client.ToString());
        }

        // Rescanned, and moved into the one set.
        await OlderIngestMarksBusyAsync();
        Assert.Equal(client, Assert.Single(await store.ClientsWithWorkAsync(partition)).Client);
        Assert.False(await db.KeyExistsAsync(older));
        Assert.True(await db.SetContainsAsync(busy, client.ToString()));

        // Within the interval a rescan that finds no member of the partition reads the busy set only.
        await OlderIngestMarksBusyAsync();
        time.Advance(RedisStore.OlderBusyFoldInterval - TimeSpan.FromSeconds(1));
        Assert.Empty(await store.ClientsWithWorkAsync(partition));
        Assert.True(await db.KeyExistsAsync(older));

        time.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(client, Assert.Single(await store.ClientsWithWorkAsync(partition)).Client);
        Assert.False(await db.KeyExistsAsync(older));
        Assert.True(await db.SetContainsAsync(busy, client.ToString()));
    }
}
