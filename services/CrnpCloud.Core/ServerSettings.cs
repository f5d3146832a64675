using System.Text.Json;
using System.Text.Json.Serialization;

namespace CrnpCloud.Core;

/// <summary>
/// Server settings that change while the services run (PROTOCOL.md section 7), written by the operator
/// from the CrnpServer resource and per-client retry overrides from CrnpClient resources. A null
/// field leaves the service's own configured value in force. Services poll it and apply it without
/// a restart.
/// </summary>
public sealed record ServerSettings
{
    public int? RetryCount { get; init; }

    public TimeSpan? RetryInterval { get; init; }

    public TimeSpan? ClientTimeout { get; init; }

    public int? MaxClients { get; init; }

    public string? AllowHosts { get; init; }

    public string? DenyHosts { get; init; }

    public string? VendorName { get; init; }

    /// <summary>Per-client retry overrides, keyed by the client's callback address (<c>ip:port</c>).</summary>
    public IReadOnlyDictionary<string, ClientRetry> ClientRetry { get; init; } = new Dictionary<string, ClientRetry>();

    /// <summary>
    /// The Kubernetes cluster's networks as CIDRs (every Node's pod CIDRs, and its InternalIP and
    /// ExternalIP addresses as /32 or /128), which count as LOCAL at the edge. The operator's leader
    /// writes them with <see cref="ISettingsStore.SetClusterNetworksAsync"/>, apart from the rest;
    /// a document written before this field existed reads as none.
    /// </summary>
    public IReadOnlyList<string> ClusterNetworks { get; init; } = [];

    /// <summary>Where these settings came from (resource and generation), for logs and status.</summary>
    public string Source { get; init; } = "";

    public static ServerSettings None { get; } = new();

    private static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    public string ToJson() => JsonSerializer.Serialize(this, Json);

    /// <summary>The settings without their cluster networks: what <see cref="ISettingsStore.SetSettingsAsync"/> keeps.</summary>
    public ServerSettings WithoutClusterNetworks() => this with { ClusterNetworks = [] };

    /// <summary>Cluster networks as stored apart (a JSON array of CIDR strings).</summary>
    public static string NetworksToJson(IReadOnlyList<string> networks) => JsonSerializer.Serialize(networks, Json);

    /// <summary>Parses stored cluster networks; throws <see cref="JsonException"/> for a corrupt document.</summary>
    public static IReadOnlyList<string> NetworksFromJson(string json) =>
        JsonSerializer.Deserialize<List<string>>(json, Json) ?? throw new JsonException("cluster networks document is null");

    // The values a service can run with (SettingLimits). The operator refuses anything else before
    // writing it, and a service ignores anything else it finds (keeping its configured value); both ask here.
    public static bool ValidRetryCount(int count) => SettingLimits.Within(count, SettingLimits.RetryCountMin, SettingLimits.RetryCountMax);

    public static bool ValidRetryInterval(TimeSpan interval) => SettingLimits.Within(interval, SettingLimits.RetryIntervalMin, SettingLimits.RetryIntervalMax);

    public static bool ValidClientTimeout(TimeSpan timeout) => SettingLimits.Within(timeout, SettingLimits.ClientTimeoutMin, SettingLimits.ClientTimeoutMax);

    public static bool ValidMaxClients(int max) => SettingLimits.Within(max, SettingLimits.MaxClientsMin, SettingLimits.MaxClientsMax);

    public static bool ValidVendorName(string vendor) => SettingLimits.Within(vendor.Length, SettingLimits.VendorNameMinLength, SettingLimits.VendorNameMaxLength);

    /// <summary>Parses stored settings; throws <see cref="JsonException"/> for a corrupt document.</summary>
    public static ServerSettings FromJson(string json) =>
        JsonSerializer.Deserialize<ServerSettings>(json, Json) ?? throw new JsonException("settings document is null");
}

/// <summary>One client's own retry policy; a null field falls back to the server's.</summary>
public sealed record ClientRetry(int? Count, TimeSpan? Interval);
