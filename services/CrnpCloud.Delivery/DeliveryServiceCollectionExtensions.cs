using CrnpCloud.Core;
using CrnpCloud.ServiceDefaults;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace CrnpCloud.Delivery;

public static class DeliveryServiceCollectionExtensions
{
    /// <summary>
    /// Adds a delivery worker: validated options, the sender, and the lease-keeping background
    /// service. The store must be registered first (<c>AddCrnpMemoryStore</c> or <c>AddCrnpRedisStore</c>).
    /// </summary>
    public static IHostApplicationBuilder AddCrnpDelivery(this IHostApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddCrnpOptions<DeliveryOptions>(DeliveryOptions.Section);
        services.TryAddSingleton(TimeProvider.System);
        services.AddLiveSettings<DeliveryOptions>(ApplyLive);
        services.TryAddSingleton<EventSender>();
        services.AddSingleton<ConnectionPools>();
        services.AddSingleton(sp => new DeliveryTelemetry(sp.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>(), sp.GetRequiredService<ConnectionPools>()));
        services.AddSingleton<AckCommitter>(sp => new(sp.GetRequiredService<IDeliveryStore>(), sp.GetRequiredService<DeliveryTelemetry>()));
        services.AddSingleton<QueueDrainer>();
        services.AddSingleton<DeliveryWarmUp>();
        services.AddSingleton<LeaseKeeper>();
        services.AddHostedService(sp => sp.GetRequiredService<LeaseKeeper>());
        services.AddStoreReadiness().AddCheck<LeaseHealthCheck>("leases", tags: [ServiceDefaultsExtensions.ReadyTag]);
        services.AddMetrics();
        return builder;
    }

    // The CrnpServer and CrnpClient settings that concern delivery; out-of-range values are ignored
    // (the operator refuses them first) and the configured ones stay.
    internal static void ApplyLive(DeliveryOptions options, ServerSettings live)
    {
        if (live.RetryCount is { } count && ServerSettings.ValidRetryCount(count))
        {
            options.RetryCount = count;
        }
        if (live.RetryInterval is { } interval && ServerSettings.ValidRetryInterval(interval))
        {
            options.RetryInterval = interval;
        }
        if (live.ClientTimeout is { } timeout && ServerSettings.ValidClientTimeout(timeout))
        {
            options.ClientTimeout = timeout;
        }
        options.ClientRetry.Clear();
        foreach (var (client, retry) in live.ClientRetry)
        {
            options.ClientRetry[client] = new ClientRetry(
                retry.Count is { } c && ServerSettings.ValidRetryCount(c) ? c : null,
                retry.Interval is { } i && ServerSettings.ValidRetryInterval(i) ? i : null);
        }
    }
}
