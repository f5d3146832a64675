using CrnpCloud.Core;
using CrnpCloud.Testing;
using Microsoft.Extensions.Options;

namespace CrnpCloud.Redis.Tests;

// The store contract against a real 3-master Redis Cluster (RedisClusterFixture). Each store has its
// own key prefix and its own CRNP cluster name, so the tests' hash tags fall on every master.

/// <summary>The store contract on Redis Cluster.</summary>
public sealed class RedisClusterStoreContractTests(RedisClusterFixture redis) : StoreContractTests, IClassFixture<RedisClusterFixture>
{
    protected override Task<ICrnpStore> CreateStoreAsync() =>
        Task.FromResult<ICrnpStore>(RedisStores.Create(redis.Connection, cluster: RedisStores.UniqueCluster()));
}

/// <summary>The delivery side of the store contract on Redis Cluster (wake-ups over classic Pub/Sub among them).</summary>
public sealed class RedisClusterDeliveryStoreContractTests(RedisClusterFixture redis) : DeliveryStoreContractTests, IClassFixture<RedisClusterFixture>
{
    protected override Task<ICrnpStore> CreateStoreAsync() =>
        Task.FromResult<ICrnpStore>(RedisStores.Create(redis.Connection, cluster: RedisStores.UniqueCluster()));
}

/// <summary>The event log, replays and dead letters on Redis Cluster (every script names its keys).</summary>
public sealed class RedisClusterHistoryStoreContractTests(RedisClusterFixture redis) : HistoryStoreContractTests, IClassFixture<RedisClusterFixture>
{
    protected override Task<ICrnpStore> CreateStoreAsync(int logMaxLength, DeadLetterLimits deadLetters) =>
        Task.FromResult<ICrnpStore>(new RedisStore(redis.Connection, Options.Create(new RedisStoreOptions
        {
            KeyPrefix = RedisStores.UniquePrefix(),
            Cluster = RedisStores.UniqueCluster(),
            LogMaxLength = logMaxLength,
            DeadLetterMaxCount = deadLetters.DeadLetterMaxCount,
            DeadLetterMaxAge = deadLetters.DeadLetterMaxAge,
        })));
}
