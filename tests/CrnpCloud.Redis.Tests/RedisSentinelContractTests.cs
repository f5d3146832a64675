using CrnpCloud.Core;
using CrnpCloud.Testing;
using Microsoft.Extensions.Options;

namespace CrnpCloud.Redis.Tests;

// The store contract through Redis Sentinel (RedisSentinelFixture: a master, 2 replicas, 3 Sentinels),
// with Crnp:Store:MinReplicas=1 so every publish and registration also goes through WAIT. Each store
// has its own key prefix.

/// <summary>The store contract through Sentinel, every acknowledged write confirmed by a replica.</summary>
public sealed class RedisSentinelStoreContractTests(RedisSentinelFixture redis) : StoreContractTests, IClassFixture<RedisSentinelFixture>
{
    protected override Task<ICrnpStore> CreateStoreAsync() => Task.FromResult<ICrnpStore>(SentinelStores.Create(redis));
}

/// <summary>The delivery side of the store contract through Sentinel.</summary>
public sealed class RedisSentinelDeliveryStoreContractTests(RedisSentinelFixture redis) : DeliveryStoreContractTests, IClassFixture<RedisSentinelFixture>
{
    protected override Task<ICrnpStore> CreateStoreAsync() => Task.FromResult<ICrnpStore>(SentinelStores.Create(redis));
}

/// <summary>The event log, replays and dead letters through Sentinel.</summary>
public sealed class RedisSentinelHistoryStoreContractTests(RedisSentinelFixture redis) : HistoryStoreContractTests, IClassFixture<RedisSentinelFixture>
{
    protected override Task<ICrnpStore> CreateStoreAsync(int logMaxLength, DeadLetterLimits deadLetters) =>
        Task.FromResult<ICrnpStore>(SentinelStores.Create(redis, logMaxLength, deadLetters));
}

internal static class SentinelStores
{
    public static RedisStore Create(RedisSentinelFixture redis, int logMaxLength = 100_000, DeadLetterLimits? deadLetters = null) =>
        new(redis.Connection, Options.Create(new RedisStoreOptions
        {
            KeyPrefix = RedisStores.UniquePrefix(),
            MinReplicas = 1,
            ReplicationTimeout = TimeSpan.FromSeconds(5),
            LogMaxLength = logMaxLength,
            DeadLetterMaxCount = (deadLetters ?? new()).DeadLetterMaxCount,
            DeadLetterMaxAge = (deadLetters ?? new()).DeadLetterMaxAge,
        }));
}
