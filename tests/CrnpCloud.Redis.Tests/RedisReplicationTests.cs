using System.Diagnostics;
using System.Net;
using CrnpCloud.Core;
using CrnpCloud.Protocol;
using CrnpCloud.Testing;
using Microsoft.Extensions.Options;

namespace CrnpCloud.Redis.Tests;

/// <summary>
/// Crnp:Store:MinReplicas against a real Sentinel topology (RedisStore.Replication.cs, PROTOCOL.md
/// section 12): WAIT confirms the write on a replica, or the store refuses to acknowledge it within
/// about ReplicationTimeout. The replicas are stopped with SIGSTOP (they keep their connections and
/// answer nothing, as behind a partition), and continued before the test ends.
/// </summary>
public sealed class RedisReplicationTests(RedisSentinelFixture redis) : IClassFixture<RedisSentinelFixture>
{
    private static readonly TimeSpan Timeout = TimeSpan.FromMilliseconds(500);
    private static readonly EventRegistration Membership = new("EC_Cluster", "ESC_cluster_membership");
    private static readonly CrnpEvent Event = new("EC_Cluster", "ESC_cluster_membership", "SUNW", "rgm", new NameValue("node_list", "n1"));

    private RedisStore Store(int minReplicas) => new(redis.Connection, Options.Create(new RedisStoreOptions
    {
        KeyPrefix = RedisStores.UniquePrefix(),
        MinReplicas = minReplicas,
        ReplicationTimeout = Timeout,
    }));

    private static RegistrationChange Register(int port) =>
        new(RegistrationType.AddClient, new CallbackAddress(IPAddress.Parse("10.4.0.1"), port), EquatableList.Of(Membership), RegistrationLimits.Default);

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public async Task PublishAndRegistration_WithTheReplicasReachable_AreAcknowledged(int minReplicas)
    {
        var store = Store(minReplicas);

        Assert.Equal(StatusCode.Ok, (await store.ApplyAsync(Register(1))).Status);
        var published = await store.PublishAsync(Event, new PublishOptions(IdempotencyKey: "k1", IdempotencyWindow: TimeSpan.FromMinutes(1)));

        Assert.Equal(1, published.Queued);
    }

    [Fact]
    public async Task Publish_WithEveryReplicaStopped_IsNotAcknowledged_WithinAboutTheTimeout_AndItsRetryIsSafe()
    {
        var store = Store(1);
        Assert.Equal(StatusCode.Ok, (await store.ApplyAsync(Register(2))).Status);
        var options = new PublishOptions(IdempotencyKey: "once", IdempotencyWindow: TimeSpan.FromMinutes(5));

        var clock = Stopwatch.StartNew();
        var refused = await WithReplicasStopped(() => Assert.ThrowsAsync<StoreNotReplicatedException>(() => store.PublishAsync(Event, options)));
        var elapsed = clock.Elapsed;

        Assert.InRange(elapsed, Timeout * 0.8, Timeout + TimeSpan.FromSeconds(3));
        Assert.IsAssignableFrom<StoreUnavailableException>(refused);

        // The primary kept it; the retry under the same key finds it (no second event) and is now confirmed.
        var again = await store.PublishAsync(Event, options);
        Assert.True(again.Duplicate);
        Assert.Single(await store.PeekQueueAsync(Register(2).Client, 10));
    }

    [Fact]
    public async Task Registration_WithEveryReplicaStopped_IsNotAnsweredOk_ThenSucceedsWhenSentAgain()
    {
        var store = Store(1);

        await WithReplicasStopped(() => Assert.ThrowsAsync<StoreNotReplicatedException>(() => store.ApplyAsync(Register(3))));

        Assert.Equal(StatusCode.Ok, (await store.ApplyAsync(Register(3))).Status);
        Assert.NotNull(await store.GetClientAsync(Register(3).Client));
    }

    [Fact]
    public async Task MinReplicasZero_WithEveryReplicaStopped_AcknowledgesAtOnce()
    {
        var store = Store(0);
        Assert.Equal(StatusCode.Ok, (await store.ApplyAsync(Register(4))).Status);

        var published = await WithReplicasStopped(() => store.PublishAsync(Event));

        Assert.Equal(1, published.Queued);
    }

    private async Task<T> WithReplicasStopped<T>(Func<Task<T>> action)
    {
        var master = await redis.Sentinel.WaitHealthyAsync(2);
        var replicas = redis.Sentinel.DataPorts.Where(p => p != master).ToList();
        foreach (var replica in replicas)
        {
            redis.Sentinel.Stop(replica);
        }
        try
        {
            return await action();
        }
        finally
        {
            foreach (var replica in replicas)
            {
                redis.Sentinel.Continue(replica);
            }
            await redis.Sentinel.WaitHealthyAsync(2);
        }
    }
}
