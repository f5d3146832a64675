using CrnpCloud.Core;
using k8s;
using Microsoft.Extensions.Logging;

namespace CrnpCloud.Operator;

/// <summary>
/// The selected CrnpServer and every CrnpClient's retry override -> the store's live settings,
/// which the edge, ingest and delivery services apply without a restart. The cluster networks in
/// the same settings are not written here (<see cref="ClusterNetworkPublisher"/> owns them). Every CrnpServer gets an
/// Applied condition: the selected one says whether its spec was applied, the others that they are not
/// the installation's.
/// </summary>
internal sealed partial class SettingsReconciler(
    IKubernetes kube,
    ISettingsStore settingsStore,
    IClientStatusStore clientStatus,
    OperatorOptions options,
    TimeProvider time,
    ILogger<SettingsReconciler> logger)
{
    public async Task ReconcileAsync(IReadOnlyList<CrnpServer> servers, IReadOnlyList<CrnpClient> clients, CancellationToken leading)
    {
        var ns = options.ResolvedNamespace();
        var selected = servers.FirstOrDefault(s => s.Metadata.NamespaceProperty == ns && s.Metadata.Name == options.ServerName);
        var settings = new ServerSettings { Source = "no CrnpServer" };
        string? invalid = null;
        string? partitionsNote = null;
        if (selected is not null)
        {
            invalid = Validate(selected.Spec);
            if (invalid is null)
            {
                settings = FromSpec(selected.Spec) with { Source = $"CrnpServer {ns}/{selected.Metadata.Name} generation {selected.Metadata.Generation}" };
                if (selected.Spec.Partitions is { } p && p != clientStatus.Partitions)
                {
                    partitionsNote = $"partitions {p} differs from the store's {clientStatus.Partitions}; partitions are fixed at installation (Helm value), so it was not applied";
                }
            }
        }

        var retries = new Dictionary<string, ClientRetry>(StringComparer.Ordinal);
        foreach (var client in clients)
        {
            if (client.Metadata.DeletionTimestamp is null && client.Status?.RegisteredAddress is { } address && ClientSpecs.Retry(client.Spec) is { } retry)
            {
                retries[address] = retry;
            }
        }
        settings = settings with { ClientRetry = retries };

        // The cluster networks are the ClusterNetworkPublisher's part of the settings; this writes the rest.
        var current = await settingsStore.GetSettingsAsync(leading);
        if (current.WithoutClusterNetworks().ToJson() != settings.ToJson())
        {
            leading.ThrowIfCancellationRequested();
            await settingsStore.SetSettingsAsync(settings, CancellationToken.None);
            Written(logger, settings.Source, retries.Count);
        }

        var now = time.GetUtcNow().UtcDateTime;
        foreach (var server in servers)
        {
            var generation = server.Metadata.Generation;
            var before = KubernetesJson.Serialize(server.Status ?? new CrnpServerStatus());
            var status = KubernetesJson.Deserialize<CrnpServerStatus>(before);
            if (server != selected)
            {
                status.Conditions = Conditions.Set(status.Conditions, Conditions.Applied, false, "NotSelected",
                    $"this installation applies only CrnpServer {ns}/{options.ServerName}", generation, now);
            }
            else if (invalid is not null)
            {
                status.Conditions = Conditions.Set(status.Conditions, Conditions.Applied, false, "InvalidSpec", invalid, generation, now);
            }
            else
            {
                if (!Conditions.IsTrue(status.Conditions, Conditions.Applied) || status.ObservedGeneration != generation)
                {
                    status.AppliedTime = now;
                }
                status.Conditions = Conditions.Set(status.Conditions, Conditions.Applied, true, partitionsNote is null ? "Applied" : "AppliedExceptPartitions",
                    partitionsNote ?? "written to the store; services apply it within their refresh interval", generation, now);
            }
            status.ObservedGeneration = generation;
            if (KubernetesJson.Serialize(status) != before)
            {
                server.Status = status;
                leading.ThrowIfCancellationRequested();
                await kube.CustomObjects.ReplaceNamespacedCustomObjectStatusAsync<CrnpServer>(
                    server, CrnpApi.Group, CrnpApi.Version, server.Metadata.NamespaceProperty, CrnpApi.ServerPlural, server.Metadata.Name, cancellationToken: leading);
            }
        }
    }

    /// <summary>What the CRD schema cannot check; null when the spec can be applied.</summary>
    internal static string? Validate(CrnpServerSpec spec)
    {
        if (spec.RetryCount is { } count && !ServerSettings.ValidRetryCount(count))
        {
            return $"spec.retryCount must be between {SettingLimits.RetryCountMin} and {SettingLimits.RetryCountMax}";
        }
        if (spec.MaxClients is { } max && !ServerSettings.ValidMaxClients(max))
        {
            return $"spec.maxClients must be between {SettingLimits.MaxClientsMin} and {SettingLimits.MaxClientsMax}";
        }
        if (spec.RetryInterval is { } ri && !(Durations.TryParse(ri, out var interval) && ServerSettings.ValidRetryInterval(interval)))
        {
            return $"spec.retryInterval '{ri}' is not a duration such as 30s (at most {SettingLimits.RetryIntervalMax})";
        }
        if (spec.ClientTimeout is { } ct && !(Durations.TryParse(ct, out var timeout) && ServerSettings.ValidClientTimeout(timeout)))
        {
            return $"spec.clientTimeout '{ct}' is not a duration between {SettingLimits.ClientTimeoutMin} and {SettingLimits.ClientTimeoutMax}";
        }
        foreach (var (field, list) in new[] { ("allowHosts", spec.AllowHosts), ("denyHosts", spec.DenyHosts) })
        {
            if (list is not null && HostList.InvalidEntries(string.Join(',', list)).FirstOrDefault() is { } bad)
            {
                return $"spec.{field} entry '{bad}' is not a CIDR, an IP address, LOCAL or ALL";
            }
        }
        if (spec.VendorName is { } vendor && !ServerSettings.ValidVendorName(vendor))
        {
            return $"spec.vendorName must be {SettingLimits.VendorNameMinLength} to {SettingLimits.VendorNameMaxLength} characters";
        }
        return null;
    }

    private static ServerSettings FromSpec(CrnpServerSpec spec) => new()
    {
        RetryCount = spec.RetryCount,
        RetryInterval = Durations.TryParse(spec.RetryInterval, out var ri) ? ri : null,
        ClientTimeout = Durations.TryParse(spec.ClientTimeout, out var ct) ? ct : null,
        MaxClients = spec.MaxClients,
        AllowHosts = spec.AllowHosts is null ? null : string.Join(',', spec.AllowHosts),
        DenyHosts = spec.DenyHosts is null ? null : string.Join(',', spec.DenyHosts),
        VendorName = spec.VendorName,
    };

    [LoggerMessage(EventId = 1301, Level = LogLevel.Information, Message = "server settings written from {Source} with {Overrides} client retry override(s)")]
    private static partial void Written(ILogger logger, string source, int overrides);
}
