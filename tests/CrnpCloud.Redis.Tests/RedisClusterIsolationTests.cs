using System.Collections.Concurrent;
using System.Net;
using CrnpCloud.Core;
using CrnpCloud.Protocol;
using CrnpCloud.Testing;
using StackExchange.Redis;

namespace CrnpCloud.Redis.Tests;

/// <summary>
/// Two CRNP clusters in one Redis Cluster, their hash tags on different masters: each works, and
/// registrations, events, queues, leases and wake-ups of one never show in the other.
/// </summary>
public sealed class RedisClusterIsolationTests(RedisClusterFixture redis) : IClassFixture<RedisClusterFixture>
{
    private static readonly EventRegistration Membership = new("EC_Cluster", "ESC_cluster_membership");
    private static readonly EventRegistration RgA = new("EC_Cluster", "ESC_cluster_rg_state", new NameValue("rg_name", "a"));
    private static readonly CrnpEvent MembershipEvent = new("EC_Cluster", "ESC_cluster_membership", "SUNW", "rgm", new NameValue("node_list", "n1"), new NameValue("state_list", "1"));
    private static readonly TimeSpan LongTtl = TimeSpan.FromMinutes(5);

    [Fact]
    public async Task TwoCrnpClusters_OnDifferentMasters_WorkSideBySide_AndStayApart()
    {
        // Names tried in a fixed order; the first two whose tags' slots have different masters.
        var picked = new List<(string Name, int Slot, int Master)>();
        foreach (var name in Enumerable.Range(0, 100).Select(i => "crnp-" + i))
        {
            var slot = await redis.Cluster.KeySlotAsync("{" + name + "}");
            var master = await redis.Cluster.MasterOfSlotAsync(slot);
            if (picked.All(p => p.Master != master))
            {
                picked.Add((name, slot, master));
            }
            if (picked.Count == 2)
            {
                break;
            }
        }
        Assert.Equal(2, picked.Count);
        var (nameA, slotA, masterA) = picked[0];
        var (nameB, slotB, masterB) = picked[1];
        Assert.Equal(Crc16Slot(nameA), slotA);
        Assert.Equal(Crc16Slot(nameB), slotB);

        var prefix = RedisStores.UniquePrefix();
        var a = RedisStores.Create(redis.Connection, prefix, nameA);
        var b = RedisStores.Create(redis.Connection, prefix, nameB);
        var client = new CallbackAddress(IPAddress.Parse("10.2.0.1"), 7000);
        var onlyInA = new CallbackAddress(IPAddress.Parse("10.2.0.2"), 7000);
        var partition = Partitioning.Of(client, a.Partitions);
        var wokenA = new ConcurrentQueue<CallbackAddress>();
        var wokenB = new ConcurrentQueue<CallbackAddress>();
        using var watchA = a.OnWork(partition, wokenA.Enqueue);
        using var watchB = b.OnWork(partition, wokenB.Enqueue);

        // The same callback address registers in both, with different types; a second client only in A.
        Assert.Equal(StatusCode.Ok, (await a.ApplyAsync(Change(client, Membership))).Status);
        Assert.Equal(StatusCode.Ok, (await b.ApplyAsync(Change(client, RgA))).Status);
        Assert.Equal(StatusCode.Ok, (await a.ApplyAsync(Change(onlyInA, Membership))).Status);

        Assert.Equal([Membership], (await a.GetClientAsync(client))!.Types);
        Assert.Equal([RgA], (await b.GetClientAsync(client))!.Types);
        Assert.Null(await b.GetClientAsync(onlyInA));
        Assert.Equal(2, (await a.ListClientsAsync()).Count);
        Assert.Single(await b.ListClientsAsync());

        // Publishes: sequences, latest state, logs and queues are each cluster's own.
        var publishedA = await a.PublishAsync(MembershipEvent);
        var publishedB = await b.PublishAsync(MembershipEvent);
        Assert.Equal((1L, 2), (publishedA.Event.Sequence, publishedA.Queued));
        Assert.Equal((1L, 0), (publishedB.Event.Sequence, publishedB.Queued));
        Assert.Single(await a.GetLatestAsync());
        Assert.Single(await b.GetLatestAsync());
        Assert.Single(await a.PeekQueueAsync(client, 10));
        Assert.Empty(await b.PeekQueueAsync(client, 10));
        Assert.Equal([client], (await a.ClientsWithWorkAsync(partition)).Select(w => w.Client).Where(c => c == client));
        Assert.Empty(await b.ClientsWithWorkAsync(partition));

        // Wake-ups go to the subscribers of the cluster that queued.
        await Eventually.TrueAsync(() => Task.FromResult(wokenA.Contains(client)), "A's publish wakes A's worker");
        Assert.DoesNotContain(client, wokenB);

        // Leases: one worker name takes every partition in each, with tokens of its own cluster.
        var leasesA = (await a.ClaimAsync("w", LongTtl)).Leases;
        var leasesB = (await b.ClaimAsync("w", LongTtl)).Leases;
        Assert.Equal(a.Partitions, leasesA.Count);
        Assert.Equal(b.Partitions, leasesB.Count);
        Assert.Equal(leasesA.Select(l => l.Token).Order(), leasesB.Select(l => l.Token).Order());
        var entry = (await a.PeekQueueAsync(client, 1)).Single();
        var leaseA = leasesA.Single(l => l.Partition == partition);
        Assert.Equal(AckResult.Done, (await a.AckAsync(client, entry.EntryId, leaseA)).Result);
        Assert.Empty(await a.PeekQueueAsync(client, 10));
        await b.ReleaseAsync("w", leasesB.Select(l => l.Partition), leaving: true);
        Assert.Equal(a.Partitions, (await a.ClaimAsync("w", LongTtl)).Leases.Count);
        Assert.Equal(b.Partitions, (await b.ClaimAsync("other", LongTtl)).Leases.Count);

        // B's registration and a publish in B go on, unaffected by A.
        var rgEvent = new CrnpEvent("EC_Cluster", "ESC_cluster_rg_state", "SUNW", "rgm", new NameValue("rg_name", "a"), new NameValue("node_list", "n1"), new NameValue("state_list", "ONLINE"));
        Assert.Equal(1, (await b.PublishAsync(rgEvent)).Queued);
        Assert.Equal(0, (await a.PublishAsync(rgEvent)).Queued);
        await Eventually.TrueAsync(() => Task.FromResult(wokenB.Contains(client)), "B's publish wakes B's worker");
        Assert.Equal([2L], (await b.PeekQueueAsync(client, 10)).Select(e => e.Event.Sequence));

        // Each cluster's keys are all on the master of its tag's slot, and only there.
        Assert.NotEqual(masterA, masterB);
        foreach (var (name, master) in new[] { (nameA, masterA), (nameB, masterB) })
        {
            foreach (var port in redis.Cluster.Ports)
            {
                var server = redis.Connection.GetServer("127.0.0.1", port);
                var keys = new List<RedisKey>();
                await foreach (var key in server.KeysAsync(pattern: prefix + "{" + name + "}*"))
                {
                    keys.Add(key);
                }
                if (port == master)
                {
                    Assert.Contains(keys, k => k.ToString().EndsWith(":clients", StringComparison.Ordinal));
                }
                else
                {
                    Assert.Empty(keys);
                }
            }
        }
        Assert.NotEqual(await a.StoreIdentityAsync(), await b.StoreIdentityAsync());
    }

    private static RegistrationChange Change(CallbackAddress client, EventRegistration type) =>
        new(RegistrationType.AddClient, client, EquatableList.Of(type), RegistrationLimits.Default);

    // The Redis Cluster key slot of a hash tag: CRC16 (XMODEM: poly 0x1021, init 0) of the tag, mod 16384.
    private static int Crc16Slot(string tag)
    {
        var crc = 0;
        foreach (var b in System.Text.Encoding.UTF8.GetBytes(tag))
        {
            crc ^= b << 8;
            for (var i = 0; i < 8; i++)
            {
                crc = (crc & 0x8000) != 0 ? ((crc << 1) ^ 0x1021) & 0xFFFF : (crc << 1) & 0xFFFF;
            }
        }
        return crc % 16384;
    }
}
