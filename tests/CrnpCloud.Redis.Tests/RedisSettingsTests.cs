using CrnpCloud.Core;
using CrnpCloud.Testing;
using StackExchange.Redis;

namespace CrnpCloud.Redis.Tests;

/// <summary>How the live settings sit in Redis: two keys, one per writer, and documents of older versions.</summary>
public sealed class RedisSettingsTests(RedisServerFixture redis) : IClassFixture<RedisServerFixture>
{
    // What the settings key held before cluster networks existed (written by the previous release).
    private const string OlderDocument = """{"retryCount":7,"retryInterval":"00:01:30","allowHosts":"LOCAL,10.0.0.0/8","clientRetry":{"10.0.0.1:1":{"count":0}},"source":"CrnpServer crnp/crnpcloud generation 3"}""";

    [Fact]
    public async Task AnOlderSettingsDocument_StillReads_WithNoClusterNetworks_AndNetworksAreAddedBesideIt()
    {
        var prefix = RedisStores.UniquePrefix();
        var store = RedisStores.Create(redis.Connection, prefix);
        var db = redis.Connection.GetDatabase();
        var settingsKey = (RedisKey)(prefix + "{default}:settings");
        await db.StringSetAsync(settingsKey, OlderDocument);

        var before = await store.GetSettingsAsync();
        await store.SetClusterNetworksAsync(["10.244.0.0/16"]);
        var after = await store.GetSettingsAsync();

        Assert.Equal((7, TimeSpan.FromSeconds(90), "LOCAL,10.0.0.0/8"), (before.RetryCount, before.RetryInterval, before.AllowHosts));
        Assert.Equal(0, before.ClientRetry["10.0.0.1:1"].Count);
        Assert.Empty(before.ClusterNetworks);
        Assert.Equal(["10.244.0.0/16"], after.ClusterNetworks);
        Assert.Equal(7, after.RetryCount);
        Assert.Equal(OlderDocument, (string?)await db.StringGetAsync(settingsKey)); // the other writer's key is untouched
    }
}
