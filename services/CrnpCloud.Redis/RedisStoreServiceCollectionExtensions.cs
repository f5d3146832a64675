using CrnpCloud.Core;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace CrnpCloud.Redis;

public static class RedisStoreServiceCollectionExtensions
{
    /// <summary>
    /// The store, from section <c>Crnp:Store</c>: Redis when <c>Crnp:Store:Redis</c> is set; otherwise the
    /// embedded in-memory store, with the same validated retention settings (<c>LogMaxLength</c>,
    /// <c>DeadLetterMaxCount</c>, <c>DeadLetterMaxAge</c>) and partition count.
    /// </summary>
    public static IHostApplicationBuilder AddCrnpRedisStore(this IHostApplicationBuilder builder)
    {
        Durations.AcceptInConfiguration();
        builder.Services.AddOptions<RedisStoreOptions>()
            .BindConfiguration(RedisStoreOptions.Section)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        var connection = builder.Configuration.GetSection(RedisStoreOptions.Section)[nameof(RedisStoreOptions.Redis)];
        if (string.IsNullOrWhiteSpace(connection))
        {
            builder.Services.TryAddSingleton<ICrnpStore>(sp =>
            {
                var options = sp.GetRequiredService<IOptions<RedisStoreOptions>>().Value;
                return new InMemoryStore(sp.GetService<TimeProvider>(), options.Partitions)
                {
                    LogMaxLength = options.LogMaxLength,
                    DeadLetters = new DeadLetterLimits { DeadLetterMaxCount = options.DeadLetterMaxCount, DeadLetterMaxAge = options.DeadLetterMaxAge },
                };
            });
            return builder;
        }

        var section = builder.Configuration.GetSection(RedisStoreOptions.Section);
        var password = section[nameof(RedisStoreOptions.Password)];
        var sentinelPassword = section[nameof(RedisStoreOptions.SentinelPassword)];
        if (RedisConnection.IsSentinel(connection))
        {
            // Through Sentinel: a connection to the primary the Sentinels name, replaced when they name another.
            builder.Services.AddSingleton(_ => SentinelConnection.Connect(connection, password, sentinelPassword));
            builder.Services.AddSingleton<ICrnpStore>(sp => new RedisStore(
                sp.GetRequiredService<SentinelConnection>(),
                sp.GetRequiredService<IOptions<RedisStoreOptions>>(),
                sp.GetService<TimeProvider>()));
            return builder;
        }
        builder.Services.AddSingleton<IConnectionMultiplexer>(_ => RedisConnection.Connect(connection, password));
        builder.Services.AddSingleton<ICrnpStore>(sp => new RedisStore(
            sp.GetRequiredService<IConnectionMultiplexer>(),
            sp.GetRequiredService<IOptions<RedisStoreOptions>>(),
            sp.GetService<TimeProvider>()));
        return builder;
    }
}

public static partial class RedisConnection
{
    /// <summary>Connects to a single Redis or a Redis Cluster as <c>Crnp:Store:Redis</c> and <c>Password</c> (overriding one in the text) say.</summary>
    public static ConnectionMultiplexer Connect(string connection, string? password = null)
    {
        var options = Configure(connection);
        if (!string.IsNullOrEmpty(password))
        {
            options.Password = password;
        }
        return ConnectionMultiplexer.Connect(options);
    }

    /// <summary>
    /// Connection settings for a service that must answer quickly when Redis is down: keep retrying
    /// the connection in the background, but fail commands at once while disconnected instead of
    /// queueing them (the edge then answers RETRY).
    /// </summary>
    public static ConfigurationOptions Configure(string connection)
    {
        ArgumentNullException.ThrowIfNull(connection);
        var options = IsSentinelUrl(connection) ? FromSentinelUrl(connection)
            : IsUrl(connection) ? FromUrl(new Uri(connection))
            : ConfigurationOptions.Parse(connection);
        options.AbortOnConnectFail = false;
        options.BacklogPolicy = BacklogPolicy.FailFast;
        options.ConnectTimeout = Math.Min(options.ConnectTimeout, 5000);
        options.AsyncTimeout = Math.Min(options.AsyncTimeout, 5000);

        // For INFO only (the server's run_id tells delivery workers of a failover); no other
        // administrative command is ever sent.
        options.AllowAdmin = true;
        return options;
    }

    /// <summary>True for <c>redis://</c> and <c>rediss://</c> (TLS) URLs, and Sentinel URLs (<see cref="IsSentinelUrl"/>).</summary>
    public static bool IsUrl(string? connection) => IsSentinelUrl(connection) ||
        Uri.TryCreate(connection, UriKind.Absolute, out var uri) && uri.Scheme is "redis" or "rediss" && uri.Host.Length > 0;

    /// <summary>The connection text with any password replaced, for logs.</summary>
    public static string Redact(string connection) =>
        IsSentinelUrl(connection) ? RedactSentinelUrl(connection) :
        IsUrl(connection) && new Uri(connection) is { UserInfo.Length: > 0 } uri
            ? $"{uri.Scheme}://***@{uri.Authority}{uri.PathAndQuery}"
            : System.Text.RegularExpressions.Regex.Replace(connection, "password=[^,]*", "password=***", System.Text.RegularExpressions.RegexOptions.IgnoreCase);

    // redis://[user][:password]@host[:port][/database]; rediss:// = TLS.
    private static ConfigurationOptions FromUrl(Uri url)
    {
        var options = new ConfigurationOptions { Ssl = url.Scheme == "rediss" };
        options.EndPoints.Add(url.Host.Trim('[', ']'), url.IsDefaultPort || url.Port < 0 ? 6379 : url.Port);
        if (url.UserInfo.Length > 0)
        {
            var colon = url.UserInfo.IndexOf(':', StringComparison.Ordinal);
            var user = Uri.UnescapeDataString(colon < 0 ? "" : url.UserInfo[..colon]);
            options.Password = Uri.UnescapeDataString(colon < 0 ? url.UserInfo : url.UserInfo[(colon + 1)..]);
            options.User = user.Length > 0 ? user : null;
        }
        var path = url.AbsolutePath.Trim('/');
        if (path.Length > 0)
        {
            options.DefaultDatabase = int.Parse(path, System.Globalization.CultureInfo.InvariantCulture);
        }
        return options;
    }
}
