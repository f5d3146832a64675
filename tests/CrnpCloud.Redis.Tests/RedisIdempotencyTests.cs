using CrnpCloud.Core;
using CrnpCloud.Protocol;
using CrnpCloud.Testing;
using StackExchange.Redis;

namespace CrnpCloud.Redis.Tests;

public sealed class RedisIdempotencyTests(RedisServerFixture redis) : IClassFixture<RedisServerFixture>
{
    [Fact]
    public async Task IdempotencyKey_ExpiresWithItsWindow_InRedisItself()
    {
        using var connection = await RedisStores.ConnectAsync(redis.Server);
        var prefix = RedisStores.UniquePrefix();
        var store = RedisStores.Create(connection, prefix);
        var evt = new CrnpEvent("EC_Cluster", "ESC_cluster_membership", "SUNW", "rgm");

        await store.PublishAsync(evt, new PublishOptions(IdempotencyKey: "k1", IdempotencyWindow: TimeSpan.FromSeconds(90)));

        var ttl = await connection.GetDatabase().KeyTimeToLiveAsync($"{prefix}{{default}}:idem:k1");
        Assert.NotNull(ttl);
        Assert.InRange(ttl.Value, TimeSpan.FromSeconds(80), TimeSpan.FromSeconds(90));
    }
}
