using CrnpCloud.Core;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace CrnpCloud.Redis;

/// <summary>
/// The store's one registration. A host calls exactly one of <see cref="AddCrnpMemoryStore"/> and
/// <see cref="AddCrnpRedisStore"/> (tests that bring their own store, <see cref="AddCrnpStore(IServiceCollection, ICrnpStore)"/>);
/// each registers the one instance as <see cref="ICrnpStore"/> and under every role interface, which
/// is what the services take. They live here, not in Core (which has no DI), because the store's
/// settings (<see cref="RedisStoreOptions"/>, section <c>Crnp:Store</c>) do, the embedded store's included.
/// </summary>
public static class StoreServiceCollectionExtensions
{
    // The roles are the interfaces ICrnpStore aggregates: a role added there is registered here too.
    private static readonly Type[] Roles = typeof(ICrnpStore).GetInterfaces();

    private static readonly Type[] ServiceTypes = [typeof(ICrnpStore), .. Roles];

    /// <summary>
    /// The store, from section <c>Crnp:Store</c>: Redis when <c>Crnp:Store:Redis</c> is set; otherwise the
    /// embedded in-memory store (<see cref="AddCrnpMemoryStore"/>).
    /// </summary>
    public static IHostApplicationBuilder AddCrnpRedisStore(this IHostApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var section = builder.Configuration.GetSection(RedisStoreOptions.Section);
        var connection = section[nameof(RedisStoreOptions.Redis)];
        if (string.IsNullOrWhiteSpace(connection))
        {
            return builder.AddCrnpMemoryStore();
        }

        AddStoreOptions(builder.Services);
        var password = section[nameof(RedisStoreOptions.Password)];
        var sentinelPassword = section[nameof(RedisStoreOptions.SentinelPassword)];
        if (RedisConnection.IsSentinel(connection))
        {
            // Through Sentinel: a connection to the primary the Sentinels name, replaced when they name another.
            builder.Services.AddSingleton(_ => SentinelConnection.Connect(connection, password, sentinelPassword));
            builder.Services.AddCrnpStore(sp => new RedisStore(
                sp.GetRequiredService<SentinelConnection>(),
                sp.GetRequiredService<IOptions<RedisStoreOptions>>(),
                sp.GetService<TimeProvider>()));
            return builder;
        }
        builder.Services.AddSingleton<IConnectionMultiplexer>(_ => RedisConnection.Connect(connection, password));
        builder.Services.AddCrnpStore(sp => new RedisStore(
            sp.GetRequiredService<IConnectionMultiplexer>(),
            sp.GetRequiredService<IOptions<RedisStoreOptions>>(),
            sp.GetService<TimeProvider>()));
        return builder;
    }

    /// <summary>
    /// The embedded in-memory store (state ends with the process), with the validated retention
    /// settings of section <c>Crnp:Store</c> (<c>LogMaxLength</c>, <c>DeadLetterMaxCount</c>,
    /// <c>DeadLetterMaxAge</c>) and its partition count.
    /// </summary>
    public static IHostApplicationBuilder AddCrnpMemoryStore(this IHostApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        AddStoreOptions(builder.Services);
        builder.Services.AddCrnpStore(sp =>
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

    /// <summary>
    /// Registers a store the caller made (a test's, shared with the test) as <see cref="ICrnpStore"/> and
    /// under every role interface. The container does not own it: it is not disposed with the host.
    /// </summary>
    public static IServiceCollection AddCrnpStore(this IServiceCollection services, ICrnpStore store)
    {
        ArgumentNullException.ThrowIfNull(store);
        RefuseASecondStore(services);
        foreach (var type in ServiceTypes)
        {
            services.Add(ServiceDescriptor.Singleton(type, store));
        }
        return services;
    }

    /// <summary>
    /// Registers the store <paramref name="create"/> makes as <see cref="ICrnpStore"/> and under every
    /// role interface: one instance, made once, answers them all.
    /// </summary>
    public static IServiceCollection AddCrnpStore(this IServiceCollection services, Func<IServiceProvider, ICrnpStore> create)
    {
        ArgumentNullException.ThrowIfNull(create);
        RefuseASecondStore(services);
        services.AddSingleton(create);
        foreach (var role in Roles)
        {
            services.Add(ServiceDescriptor.Singleton(role, sp => sp.GetRequiredService<ICrnpStore>()));
        }
        return services;
    }

    private static void RefuseASecondStore(IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        if (services.Any(d => d.ServiceType == typeof(ICrnpStore)))
        {
            throw new InvalidOperationException("a store is already registered: a host calls one of AddCrnpMemoryStore and AddCrnpRedisStore, once");
        }
    }

    private static void AddStoreOptions(IServiceCollection services)
    {
        Durations.AcceptInConfiguration();
        services.AddOptions<RedisStoreOptions>()
            .BindConfiguration(RedisStoreOptions.Section)
            .ValidateDataAnnotations()
            .ValidateOnStart();
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
