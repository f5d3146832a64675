using System.ComponentModel.DataAnnotations;

namespace CrnpCloud.Core;

/// <summary>
/// The one home of every bound that is written in more than one place: the options' validation
/// attributes, the checks of live values (<see cref="ServerSettings"/>), the operator's checks of
/// CrnpServer and CrnpClient specs, and, outside C#, the CRDs (<c>charts/crnpcloud/crds</c>) and the
/// Helm values schema (<c>charts/crnpcloud/values.schema.json</c>). A chart test
/// (<c>SettingLimitsTests</c>) holds every minimum and maximum of the CRDs and of the values schema to
/// these constants: change a number here and not there, or there and not here, and it fails.
/// Durations are Kubernetes style (<see cref="Durations"/>), as users write them.
/// </summary>
public static class SettingLimits
{
    /// <summary>client_retry_count: <c>Crnp:Delivery:RetryCount</c>, CrnpServer <c>spec.retryCount</c>, CrnpClient <c>spec.retry.count</c>, Helm <c>delivery.retryCount</c>.</summary>
    public const int RetryCountMin = 0;

    /// <inheritdoc cref="RetryCountMin"/>
    public const int RetryCountMax = 1000;

    /// <summary>client_retry_interval: <c>Crnp:Delivery:RetryInterval</c>, CrnpServer <c>spec.retryInterval</c>, CrnpClient <c>spec.retry.interval</c>.</summary>
    public const string RetryIntervalMin = "0s";

    /// <inheritdoc cref="RetryIntervalMin"/>
    public const string RetryIntervalMax = "24h";

    /// <summary>client_timeout: <c>Crnp:Edge:ClientTimeout</c>, <c>Crnp:Delivery:ClientTimeout</c>, CrnpServer <c>spec.clientTimeout</c>.</summary>
    public const string ClientTimeoutMin = "10ms";

    /// <inheritdoc cref="ClientTimeoutMin"/>
    public const string ClientTimeoutMax = "1h";

    /// <summary>Most registered clients: <c>Crnp:Edge:MaxClients</c>, CrnpServer <c>spec.maxClients</c>, Helm <c>edge.maxClients</c>.</summary>
    public const int MaxClientsMin = 1;

    /// <inheritdoc cref="MaxClientsMin"/>
    public const int MaxClientsMax = 10_000_000;

    /// <summary>Characters of the VENDOR of events that name none: CrnpServer <c>spec.vendorName</c>.</summary>
    public const int VendorNameMinLength = 1;

    /// <inheritdoc cref="VendorNameMinLength"/>
    public const int VendorNameMaxLength = 256;

    /// <summary>Delivery partitions: <c>Crnp:Store:Partitions</c>, CrnpServer <c>spec.partitions</c>, Helm <c>partitions</c>.</summary>
    public const int PartitionsMin = 1;

    /// <inheritdoc cref="PartitionsMin"/>
    public const int PartitionsMax = 4096;

    /// <summary>A TCP port: CrnpClient <c>spec.port</c> (a client's callback), the Helm ports (<c>managementPort</c>, <c>edge.port</c>, <c>ingest.port</c>).</summary>
    public const int PortMin = 1;

    /// <summary>The highest TCP port, whether listened on or connected to.</summary>
    public const int PortMax = 65535;

    /// <summary>A port a service listens on (<c>Crnp:Edge:Port</c>, <c>Crnp:Ingest:Port</c>, <c>Crnp:Management:Port</c>): 0 picks a free one.</summary>
    public const int ListenPortMin = 0;

    /// <summary>Delivery connections of a worker to clients in good standing: <c>Crnp:Delivery:ConnectionBudget</c>, Helm <c>delivery.connectionBudget</c>.</summary>
    public const int ConnectionBudgetMin = 1;

    /// <inheritdoc cref="ConnectionBudgetMin"/>
    public const int ConnectionBudgetMax = 100_000;

    /// <summary>Replicas that must hold a write (Redis WAIT): <c>Crnp:Store:MinReplicas</c>, Helm <c>redis.minReplicas</c>.</summary>
    public const int MinReplicasMin = 0;

    /// <inheritdoc cref="MinReplicasMin"/>
    public const int MinReplicasMax = 16;

    /// <summary>Declared clients with per-client metrics: <c>Crnp:Operator:ClientMetricsLimit</c>, Helm <c>operator.clientMetricsLimit</c>.</summary>
    public const int ClientMetricsLimitMin = 0;

    /// <inheritdoc cref="ClientMetricsLimitMin"/>
    public const int ClientMetricsLimitMax = 10_000;

    /// <summary>Characters of a CrnpClient's <c>spec.address</c>: an IP address or a DNS name (at most 253).</summary>
    public const int ClientAddressMinLength = 1;

    /// <inheritdoc cref="ClientAddressMinLength"/>
    public const int ClientAddressMaxLength = 253;

    /// <summary>Event types of a CrnpClient's <c>spec.events</c>.</summary>
    public const int ClientEventsMin = 1;

    /// <inheritdoc cref="ClientEventsMin"/>
    public const int ClientEventsMax = 256;

    /// <summary>Dead letters kept per removed client: <c>Crnp:Store:DeadLetterMaxCount</c> and the embedded store's <see cref="DeadLetterLimits"/>.</summary>
    public const int DeadLetterMaxCountMin = 1;

    /// <inheritdoc cref="DeadLetterMaxCountMin"/>
    public const int DeadLetterMaxCountMax = 1_000_000;

    /// <summary>How long dead letters are kept: <c>Crnp:Store:DeadLetterMaxAge</c> and the embedded store's <see cref="DeadLetterLimits"/>.</summary>
    public const string DeadLetterMaxAgeMin = "1s";

    /// <inheritdoc cref="DeadLetterMaxAgeMin"/>
    public const string DeadLetterMaxAgeMax = "8760h";

    /// <summary>The CRNP cluster name, the Redis hash tag of every key: <c>Crnp:Store:Cluster</c>, Helm <c>cluster</c>.</summary>
    public const string ClusterNamePattern = @"^[A-Za-z0-9_.\-]{1,64}$";

    /// <summary>True when <paramref name="value"/> lies in <c>[min, max]</c>.</summary>
    public static bool Within(int value, int min, int max) => value >= min && value <= max;

    /// <summary>True when <paramref name="value"/> lies in <c>[min, max]</c>, both durations (<see cref="Durations"/>).</summary>
    public static bool Within(TimeSpan value, string min, string max) =>
        value >= Durations.ParseSetting(min) && value <= Durations.ParseSetting(max);
}

/// <summary>
/// A <see cref="TimeSpan"/> option's bounds, written as durations (<c>[DurationRange("10ms", "1h")]</c>,
/// <see cref="Durations"/>); the message names them the same way.
/// </summary>
[AttributeUsage(AttributeTargets.Property | AttributeTargets.Field | AttributeTargets.Parameter)]
public sealed class DurationRangeAttribute : ValidationAttribute
{
    public DurationRangeAttribute(string minimum, string maximum)
    {
        Minimum = Durations.ParseSetting(minimum);
        Maximum = Durations.ParseSetting(maximum);
    }

    public TimeSpan Minimum { get; }

    public TimeSpan Maximum { get; }

    /// <summary>A value that is not a TimeSpan (null: not set) is left to other attributes, as <see cref="RangeAttribute"/> does.</summary>
    public override bool IsValid(object? value) => value is not TimeSpan duration || (duration >= Minimum && duration <= Maximum);

    public override string FormatErrorMessage(string name) =>
        $"{name} must be between {Durations.Format(Minimum)} and {Durations.Format(Maximum)}";
}
