using CrnpCloud.Ingest.V1;
using CrnpCloud.ServiceDefaults;
using Grpc.Net.Client;
using k8s;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace CrnpCloud.Operator;

internal static class OperatorServiceCollectionExtensions
{
    /// <summary>
    /// Adds the operator: validated options, the Kubernetes client (kubeconfig, else in-cluster), leader
    /// election and, while leading, the reconcilers. The store must be registered first
    /// (<c>AddCrnpRedisStore</c> in a deployment; tests pass their own).
    /// </summary>
    public static IHostApplicationBuilder AddCrnpOperator(this IHostApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddCrnpOptions<OperatorOptions>(OperatorOptions.Section)
            .Validate(o => o.RenewDeadline < o.LeaseDuration, $"{OperatorOptions.Section}:RenewDeadline must be shorter than LeaseDuration")
            .Validate(o => o.RetryPeriod < o.RenewDeadline, $"{OperatorOptions.Section}:RetryPeriod must be shorter than RenewDeadline")
            .Validate(o => Uri.TryCreate(o.IngestAddress, UriKind.Absolute, out _), $"{OperatorOptions.Section}:IngestAddress must be an absolute URL such as http://crnpcloud-ingest:9445");
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton(sp => sp.GetRequiredService<IOptions<OperatorOptions>>().Value);
        services.AddSingleton<IKubernetes>(sp => new Kubernetes(KubeConfig(sp.GetRequiredService<OperatorOptions>())));
        services.AddSingleton(sp => new EventIngest.EventIngestClient(GrpcChannel.ForAddress(sp.GetRequiredService<OperatorOptions>().IngestAddress)));
        services.AddSingleton(sp => new EventRecorder(
            sp.GetRequiredService<IKubernetes>(),
            sp.GetRequiredService<LeadershipState>().Identity,
            sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<Microsoft.Extensions.Logging.ILogger<EventRecorder>>()));
        services.AddSingleton<OperatorTelemetry>();
        services.AddSingleton<LeadershipState>();
        services.AddSingleton<ClientReconciler>();
        services.AddSingleton<RemovalFeed>();
        services.AddSingleton<ClientHealth>();
        services.AddSingleton<SettingsReconciler>();
        services.AddSingleton<MembershipPublisher>();
        services.AddSingleton<ClusterNetworkPublisher>();
        services.AddSingleton<ResourceGroupPublisher>();
        services.AddSingleton<OperatorRuntime>();
        services.AddHostedService<LeaderElectionService>();
        services.AddStoreReadiness().AddCheck<LeadershipHealthCheck>("leadership", tags: [ServiceDefaultsExtensions.ReadyTag]);
        services.AddMetrics();
        return builder;
    }

    private static KubernetesClientConfiguration KubeConfig(OperatorOptions options)
    {
        if (options.Kubeconfig.Length > 0)
        {
            return KubernetesClientConfiguration.BuildConfigFromConfigFile(options.Kubeconfig);
        }
        return KubernetesClientConfiguration.IsInCluster()
            ? KubernetesClientConfiguration.InClusterConfig()
            : KubernetesClientConfiguration.BuildDefaultConfig();
    }
}
