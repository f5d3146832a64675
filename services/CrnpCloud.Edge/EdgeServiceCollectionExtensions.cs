using CrnpCloud.Core;
using CrnpCloud.ServiceDefaults;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace CrnpCloud.Edge;

public static class EdgeServiceCollectionExtensions
{
    /// <summary>Connections Kestrel accepts beyond MaxConcurrentConnections: room for the refused ones being answered and for the HTTP endpoints.</summary>
    private const long KestrelHeadroom = 1000;

    /// <summary>
    /// Adds the CRNP registration server: validated options, the access policy, and a Kestrel
    /// endpoint on <see cref="EdgeOptions.Port"/> speaking CRNP. The store must be registered first
    /// (<c>AddCrnpMemoryStore</c> or <c>AddCrnpRedisStore</c>).
    /// </summary>
    public static IHostApplicationBuilder AddCrnpEdge(this IHostApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddCrnpOptions<EdgeOptions>(EdgeOptions.Section);
        services.AddSingleton<IValidateOptions<EdgeOptions>, EdgeOptionsValidator>();
        services.TryAddSingleton(TimeProvider.System);
        services.AddLiveSettings<EdgeOptions>(ApplyLive);
        services.TryAddSingleton(InterfaceNetworks.System);
        services.AddSingleton(sp => new HostAccessPolicy(
            sp.GetRequiredService<IOptionsMonitor<EdgeOptions>>(), sp.GetRequiredService<InterfaceNetworks>(), sp.GetRequiredService<ILogger<HostAccessPolicy>>()));
        services.AddSingleton<RegistrationService>();
        services.AddSingleton<ConnectionAdmission>();
        services.AddSingleton<EdgeTelemetry>();
        services.AddMetrics();
        services.AddStoreReadiness();
        // The edge counts its registration connections itself (ConnectionAdmission) so that one over
        // the limit is answered, logged and counted; Kestrel's own limit, for all its endpoints, is a
        // backstop above it.
        services.AddOptions<KestrelServerOptions>().Configure<IOptions<EdgeOptions>>((kestrel, edge) =>
            kestrel.Limits.MaxConcurrentConnections = (long)edge.Value.MaxConcurrentConnections + KestrelHeadroom);
        services.AddListener<EdgeOptions>(EdgeOptions.Section, "crnp", "CRNP registrations (TCP/XML)",
            listen => listen.UseConnectionHandler<CrnpConnectionHandler>());
        return builder;
    }

    // The CrnpServer settings that concern registrations, and the cluster networks. A value the edge
    // could not run with is ignored (the operator refuses it first); the configured one stays.
    internal static void ApplyLive(EdgeOptions options, ServerSettings live)
    {
        if (live.MaxClients is { } max && ServerSettings.ValidMaxClients(max))
        {
            options.MaxClients = max;
        }
        if (live.ClientTimeout is { } timeout && ServerSettings.ValidClientTimeout(timeout))
        {
            options.ClientTimeout = timeout;
        }
        if (live.AllowHosts is { } allow && !HostList.InvalidEntries(allow).Any())
        {
            options.AllowHosts = allow;
        }
        if (live.DenyHosts is { } deny && !HostList.InvalidEntries(deny).Any())
        {
            options.DenyHosts = deny;
        }
        // The cluster networks count as LOCAL; an entry that is not a CIDR or an address is left out.
        options.ClusterNetworks = [.. live.ClusterNetworks.Where(n => HostList.TryParseNetwork(n, out _))];
    }
}
