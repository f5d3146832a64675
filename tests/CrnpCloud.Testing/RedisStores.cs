using CrnpCloud.Redis;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace CrnpCloud.Testing;

/// <summary>Redis stores for tests: a connection per server, and a fresh key prefix per store so tests never share state.</summary>
public static class RedisStores
{
    public static async Task<IConnectionMultiplexer> ConnectAsync(RedisServer server) =>
        await ConnectionMultiplexer.ConnectAsync(RedisConnection.Configure(server.ConnectionString));

    public static RedisStore Create(IConnectionMultiplexer redis, string? prefix = null) =>
        new(redis, Options.Create(new RedisStoreOptions { KeyPrefix = prefix ?? UniquePrefix() }));

    public static string UniquePrefix() => "t" + Guid.NewGuid().ToString("N")[..12] + ":";
}
