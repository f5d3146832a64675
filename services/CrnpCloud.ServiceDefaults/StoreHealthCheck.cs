using CrnpCloud.Core;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace CrnpCloud.ServiceDefaults;

/// <summary>Ready only while the store answers.</summary>
public sealed class StoreHealthCheck(IStoreHealth store) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            await store.PingAsync(cancellationToken);
            return HealthCheckResult.Healthy();
        }
        catch (StoreUnavailableException ex)
        {
            return HealthCheckResult.Unhealthy("store unavailable", ex);
        }
    }
}
