using CrnpCloud.Core;
using CrnpCloud.Protocol;
using CrnpCloud.Testing;
using Microsoft.Extensions.Options;

namespace CrnpCloud.Redis.Tests;

/// <summary>
/// The store's connection through Sentinel (SentinelConnection.cs) after a partition: the old primary,
/// back from SIGSTOP, says it is a primary until the Sentinels demote it; meanwhile every operation
/// goes to the promoted one and none to it (StackExchange.Redis's own Sentinel support sent a third,
/// then all, of the commands there).
/// </summary>
public sealed class RedisSentinelFailoverTests
{
    private static readonly CrnpEvent Event = new("EC_Cluster", "ESC_cluster_membership", "SUNW", "rgm", new NameValue("node_list", "n1"));

    [Fact]
    public async Task AfterAPartitionHeals_NothingReachesTheOldPrimary_WhileItStillSaysItIsOne()
    {
        await using var sentinel = await RedisSentinel.StartAsync();
        using var connection = SentinelConnection.Connect(sentinel.ConnectionString);
        var prefix = RedisStores.UniquePrefix();
        var store = new RedisStore(connection, Options.Create(new RedisStoreOptions { KeyPrefix = prefix, MinReplicas = 1 }));
        var log = prefix + "{default}:log";
        await Eventually.TrueAsync(async () =>
        {
            try
            {
                await store.PingAsync();
                return true;
            }
            catch (StoreUnavailableException)
            {
                return false;
            }
        }, "the store answers through the Sentinels");

        var old = await sentinel.MasterPortAsync();
        sentinel.Stop(old);
        int promoted;
        try
        {
            promoted = await sentinel.WaitForNewMasterAsync(old, TimeSpan.FromSeconds(40));
        }
        finally
        {
            sentinel.Continue(old);
        }
        await Eventually.TrueAsync(async () => await sentinel.RoleAsync(old) == "master", "the old primary answers again, still a primary");

        var published = 0;
        while (await sentinel.RoleAsync(old) == "master")
        {
            try
            {
                await store.PublishAsync(Event);
                published++;
            }
            catch (StoreUnavailableException)
            {
                // Switching: asked again.
            }
            // null: no answer this time (it may be busy being demoted).
            var onOld = await RedisSentinel.CommandAsync(old, "XLEN", log);
            Assert.True(onOld is null or 0L, $"the old primary got {onOld} events");
        }

        Assert.True(published > 0, "published while the old primary still said it was one");
        await sentinel.WaitHealthyAsync(2);
        Assert.Equal((long)published, await RedisSentinel.CommandAsync(promoted, "XLEN", log));
    }
}
