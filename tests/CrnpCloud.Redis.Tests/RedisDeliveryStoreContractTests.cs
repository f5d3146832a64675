using CrnpCloud.Core;
using CrnpCloud.Testing;

namespace CrnpCloud.Redis.Tests;

public sealed class RedisDeliveryStoreContractTests(RedisServerFixture redis) : DeliveryStoreContractTests, IClassFixture<RedisServerFixture>
{
    protected override Task<ICrnpStore> CreateStoreAsync() => Task.FromResult<ICrnpStore>(RedisStores.Create(redis.Connection));
}
