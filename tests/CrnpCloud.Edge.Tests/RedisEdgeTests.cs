using CrnpCloud.Core;
using CrnpCloud.Testing;

namespace CrnpCloud.Edge.Tests;

/// <summary>Every edge behaviour again, with the registrations in a real redis-server.</summary>
public sealed class RedisEdgeTests(RedisServerFixture redis) : EdgeTests, IClassFixture<RedisServerFixture>
{
    protected override Task<ICrnpStore> CreateStoreAsync() => Task.FromResult<ICrnpStore>(RedisStores.Create(redis.Connection));
}
