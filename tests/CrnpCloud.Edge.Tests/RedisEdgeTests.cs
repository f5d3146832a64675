using CrnpCloud.Core;
using CrnpCloud.Testing;
using StackExchange.Redis;

namespace CrnpCloud.Edge.Tests;

/// <summary>Every edge behaviour again, with the registrations in a real redis-server.</summary>
public sealed class RedisEdgeTests(RedisServerFixture redis) : EdgeTests, IClassFixture<RedisServerFixture>, IAsyncLifetime
{
    private IConnectionMultiplexer _connection = null!;

    public async Task InitializeAsync() => _connection = await RedisStores.ConnectAsync(redis.Server);

    public async Task DisposeAsync() => await _connection.DisposeAsync();

    protected override Task<ICrnpStore> CreateStoreAsync() => Task.FromResult<ICrnpStore>(RedisStores.Create(_connection));
}
