using CrnpCloud.Core;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace CrnpCloud.Redis;

public static class RedisStoreServiceCollectionExtensions
{
    /// <summary>
    /// Uses Redis as the store when <c>Crnp:Store:Redis</c> is set; otherwise leaves the choice to the
    /// service (the embedded in-memory store).
    /// </summary>
    public static IHostApplicationBuilder AddCrnpRedisStore(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<RedisStoreOptions>()
            .BindConfiguration(RedisStoreOptions.Section)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        var connection = builder.Configuration.GetSection(RedisStoreOptions.Section)[nameof(RedisStoreOptions.Redis)];
        if (string.IsNullOrWhiteSpace(connection))
        {
            return builder;
        }

        builder.Services.AddSingleton<IConnectionMultiplexer>(_ => ConnectionMultiplexer.Connect(RedisConnection.Configure(connection)));
        builder.Services.AddSingleton<ICrnpStore>(sp => new RedisStore(
            sp.GetRequiredService<IConnectionMultiplexer>(),
            sp.GetRequiredService<IOptions<RedisStoreOptions>>(),
            sp.GetService<TimeProvider>()));
        return builder;
    }
}

public static class RedisConnection
{
    /// <summary>
    /// Connection settings for a service that must answer quickly when Redis is down: keep retrying
    /// the connection in the background, but fail commands at once while disconnected instead of
    /// queueing them (the edge then answers RETRY).
    /// </summary>
    public static ConfigurationOptions Configure(string connection)
    {
        var options = ConfigurationOptions.Parse(connection);
        options.AbortOnConnectFail = false;
        options.BacklogPolicy = BacklogPolicy.FailFast;
        options.ConnectTimeout = Math.Min(options.ConnectTimeout, 5000);
        options.AsyncTimeout = Math.Min(options.AsyncTimeout, 5000);

        // For INFO only (the server's run_id tells delivery workers of a failover); no other
        // administrative command is ever sent.
        options.AllowAdmin = true;
        return options;
    }
}
