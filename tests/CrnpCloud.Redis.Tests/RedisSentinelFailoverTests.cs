using CrnpCloud.Core;
using CrnpCloud.Protocol;
using CrnpCloud.Testing;
using Microsoft.Extensions.Options;

namespace CrnpCloud.Redis.Tests;

/// <summary>
/// The store's connection through Sentinel (SentinelConnection.cs) after a partition: the old primary,
/// back from SIGSTOP, says it is a primary until the Sentinels demote it. Until a majority of the
/// Sentinels has heard of the switch, a write may still reach it, and with MinReplicas=1 it is never
/// acknowledged (it has no replica left to confirm it); once this store has switched, nothing more
/// reaches it. (StackExchange.Redis's own Sentinel support kept sending a third, then all, of the
/// commands there for as long as it called itself primary.)
/// </summary>
public sealed class RedisSentinelFailoverTests
{
    private static readonly CrnpEvent Event = new("EC_Cluster", "ESC_cluster_membership", "SUNW", "rgm", new NameValue("node_list", "n1"));

    [Fact]
    public async Task AfterAPartitionHeals_TheOldPrimary_GetsNothingAcknowledged_AndNothingOnceTheStoreSwitched()
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
        var refused = 0;
        long? strayWhenSwitched = null;
        while (await sentinel.RoleAsync(old) == "master")
        {
            var switched = connection.Primary?.EndsWith(":" + promoted.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal) == true;
            try
            {
                await store.PublishAsync(Event);
                published++;
            }
            catch (StoreUnavailableException)
            {
                // Switching, or written to the old primary and not confirmed by a replica: not acknowledged.
                refused++;
            }
            // null: no answer this time (it may be busy being demoted).
            if (await RedisSentinel.CommandAsync(old, "XLEN", log) is long onOld)
            {
                Assert.True(onOld <= refused, $"the old primary holds {onOld} events, more than the {refused} publishes that were refused");
                if (switched)
                {
                    strayWhenSwitched ??= onOld;
                    Assert.True(onOld == strayWhenSwitched, $"the old primary got {onOld - strayWhenSwitched} events after the store switched to the promoted one");
                }
            }
        }

        Assert.True(published > 0, "published while the old primary still said it was one");
        await sentinel.WaitHealthyAsync(2);
        Assert.Equal((long)published, await RedisSentinel.CommandAsync(promoted, "XLEN", log));
    }
}
