using CrnpCloud.Core;
using CrnpCloud.Testing;
using StackExchange.Redis;

namespace CrnpCloud.Redis.Tests;

public sealed class RedisDeliveryStoreContractTests(RedisServerFixture redis) : DeliveryStoreContractTests, IClassFixture<RedisServerFixture>, IAsyncLifetime
{
    private IConnectionMultiplexer _connection = null!;

    public async Task InitializeAsync() => _connection = await RedisStores.ConnectAsync(redis.Server);

    public async Task DisposeAsync() => await _connection.DisposeAsync();

    protected override Task<ICrnpStore> CreateStoreAsync() => Task.FromResult<ICrnpStore>(RedisStores.Create(_connection));
}
