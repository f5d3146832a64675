using CrnpCloud.Redis;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace CrnpCloud.Testing;

/// <summary>Redis stores for tests: a connection per server, and a fresh key prefix per store so tests never share state.</summary>
public static class RedisStores
{
    public static async Task<IConnectionMultiplexer> ConnectAsync(RedisServer server) =>
        await ConnectionMultiplexer.ConnectAsync(RedisConnection.Configure(server.ConnectionString));

    /// <param name="cluster">the CRNP cluster name, the keys' hash tag (<see cref="RedisStoreOptions.Cluster"/>); the default when null</param>
    public static RedisStore Create(IConnectionMultiplexer redis, string? prefix = null, string? cluster = null) =>
        new(redis, Options.Create(new RedisStoreOptions { KeyPrefix = prefix ?? UniquePrefix(), Cluster = cluster ?? new RedisStoreOptions().Cluster }));

    public static string UniquePrefix() => "t" + Guid.NewGuid().ToString("N")[..12] + ":";

    /// <summary>A fresh CRNP cluster name: on Redis Cluster its hash tag lands on any master.</summary>
    public static string UniqueCluster() => "c" + Guid.NewGuid().ToString("N")[..12];
}
