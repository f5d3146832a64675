using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;

namespace CrnpCloud.Delivery;

/// <summary>
/// Ready while lease rounds succeed: the last one completed within the lease TTL. (A worker may hold
/// no partition at all when there are more workers than partitions; that is still ready.)
/// </summary>
internal sealed class LeaseHealthCheck(LeaseKeeper leases, IOptionsMonitor<DeliveryOptions> options, TimeProvider time) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var last = leases.LastClaimTimestamp;
        if (last == 0)
        {
            return Task.FromResult(HealthCheckResult.Unhealthy("no lease round has completed yet"));
        }
        var age = time.GetElapsedTime(last);
        var ttl = options.CurrentValue.LeaseTtl;
        return Task.FromResult(age <= ttl
            ? HealthCheckResult.Healthy($"last lease round {age.TotalSeconds:0.0} s ago")
            : HealthCheckResult.Unhealthy($"no lease round for {age.TotalSeconds:0.0} s (TTL {ttl.TotalSeconds:0.#} s)"));
    }
}
