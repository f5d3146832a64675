using k8s;
using k8s.LeaderElection;
using k8s.LeaderElection.ResourceLock;
using k8s.Models;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace CrnpCloud.Operator;

/// <summary>Whether this replica leads now, and since when (health, metrics and tests read it).</summary>
public sealed class LeadershipState
{
    private volatile bool _leading;

    public bool IsLeading => _leading;

    public string Identity { get; internal set; } = "";

    /// <summary>Raised with true when reconciling starts, and with false once it has fully stopped.</summary>
    public event Action<bool>? Changed;

    internal void Set(bool leading)
    {
        _leading = leading;
        Changed?.Invoke(leading);
    }
}

/// <summary>
/// Runs the library's <see cref="LeaderElector"/> on a coordination.k8s.io/v1 Lease. While it holds
/// the Lease it runs <see cref="OperatorRuntime"/>; the moment renewal fails (or the process stops) the
/// runtime's token is cancelled and the runtime is awaited before the replica campaigns again, after
/// a jittered pause. The renew deadline is shorter than the lease duration, so a replica that cannot
/// renew stops before another can take the Lease. On a clean stop the holder clears the Lease so a
/// standby takes over at its next retry instead of waiting out the lease duration.
/// </summary>
internal sealed partial class LeaderElectionService(
    IKubernetes kube,
    IOptions<OperatorOptions> options,
    OperatorRuntime runtime,
    LeadershipState state,
    OperatorTelemetry telemetry,
    TimeProvider time,
    ILogger<LeaderElectionService> logger) : Microsoft.Extensions.Hosting.BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var o = options.Value;
        var ns = o.ResolvedNamespace();
        var identity = state.Identity = o.Identity.Length > 0 ? o.Identity
            : Environment.GetEnvironmentVariable("POD_NAME") is { Length: > 0 } pod ? pod
            : $"{Environment.MachineName}-{Environment.ProcessId}-{Guid.NewGuid().ToString("N")[..6]}";
        Campaigning(logger, identity, ns, o.LeaseName);
        while (!stoppingToken.IsCancellationRequested)
        {
            var config = new LeaderElectionConfig(new LeaseLock(kube, ns, o.LeaseName, identity))
            {
                LeaseDuration = o.LeaseDuration,
                RenewDeadline = o.RenewDeadline,
                RetryPeriod = Jitter(o.RetryPeriod),
            };
            using var elector = new LeaderElector(config);
            using var leading = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
            Task? work = null;
            elector.OnStartedLeading += () =>
            {
                Started(logger, identity);
                telemetry.Leading(true);
                state.Set(true);
                work = Task.Run(() => runtime.RunAsync(leading.Token), CancellationToken.None);
            };
            elector.OnStoppedLeading += () => leading.Cancel(); // stop reconciling at once
            elector.OnError += ex => ElectionError(logger, ex.Message);
            try
            {
                await elector.RunUntilLeadershipLostAsync(stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
            }
            catch (Exception ex) when (ex is k8s.Autorest.HttpOperationException or HttpRequestException)
            {
                ElectionError(logger, ex.Message);
            }

            await leading.CancelAsync();
            if (work is not null)
            {
                try
                {
                    await work;
                }
                catch (Exception ex) when (ex is OperationCanceledException || leading.IsCancellationRequested)
                {
                }
                telemetry.Leading(false);
                state.Set(false);
                Stopped(logger, identity);
                if (stoppingToken.IsCancellationRequested)
                {
                    await ReleaseAsync(ns, o.LeaseName, identity);
                }
            }
            if (!stoppingToken.IsCancellationRequested)
            {
                try
                {
                    await Task.Delay(Jitter(o.RetryPeriod), time, stoppingToken);
                }
                catch (OperationCanceledException)
                {
                }
            }
        }
    }

    private static TimeSpan Jitter(TimeSpan period) => period * (1 + (Random.Shared.NextDouble() * 0.2));

    // Clears the holder so a standby does not wait out the lease duration (client-go's ReleaseOnCancel).
    private async Task ReleaseAsync(string ns, string name, string identity)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        try
        {
            var lease = await kube.CoordinationV1.ReadNamespacedLeaseAsync(name, ns, cancellationToken: timeout.Token);
            if (lease.Spec?.HolderIdentity != identity)
            {
                return;
            }
            lease.Spec.HolderIdentity = ""; // empty, not absent: the library re-creates a Lease whose holder is absent
            lease.Spec.LeaseDurationSeconds = 1;
            lease.Spec.RenewTime = time.GetUtcNow().UtcDateTime;
            await kube.CoordinationV1.ReplaceNamespacedLeaseAsync(lease, name, ns, cancellationToken: timeout.Token);
            Released(logger, identity);
        }
        catch (Exception ex) when (ex is k8s.Autorest.HttpOperationException or HttpRequestException or OperationCanceledException)
        {
            ElectionError(logger, "releasing the lease: " + ex.Message);
        }
    }

    [LoggerMessage(EventId = 1601, Level = LogLevel.Information, Message = "{Identity} campaigning for Lease {Namespace}/{Lease}")]
    private static partial void Campaigning(ILogger logger, string identity, string @namespace, string lease);

    [LoggerMessage(EventId = 1602, Level = LogLevel.Information, Message = "{Identity} leads: reconciling")]
    private static partial void Started(ILogger logger, string identity);

    [LoggerMessage(EventId = 1603, Level = LogLevel.Warning, Message = "{Identity} stopped leading: reconciling stopped")]
    private static partial void Stopped(ILogger logger, string identity);

    [LoggerMessage(EventId = 1604, Level = LogLevel.Warning, Message = "leader election: {Reason}")]
    private static partial void ElectionError(ILogger logger, string reason);

    [LoggerMessage(EventId = 1605, Level = LogLevel.Information, Message = "{Identity} released the Lease")]
    private static partial void Released(ILogger logger, string identity);
}

/// <summary>Ready = this replica is a working candidate; the leader is reported in the description.</summary>
internal sealed class LeadershipHealthCheck(LeadershipState state) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(HealthCheckResult.Healthy(state.IsLeading ? "leading" : "standby"));
}
