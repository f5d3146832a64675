using CrnpCloud.Core;
using CrnpCloud.Testing;

namespace CrnpCloud.Redis.Tests;

/// <summary>The store contract against a real redis-server, a fresh key prefix per test.</summary>
public sealed class RedisStoreContractTests(RedisServerFixture redis) : StoreContractTests, IClassFixture<RedisServerFixture>
{
    protected override Task<ICrnpStore> CreateStoreAsync() => Task.FromResult<ICrnpStore>(RedisStores.Create(redis.Connection));
}
