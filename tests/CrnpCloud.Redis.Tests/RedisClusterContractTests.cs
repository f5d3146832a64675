using CrnpCloud.Core;
using CrnpCloud.Testing;

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
