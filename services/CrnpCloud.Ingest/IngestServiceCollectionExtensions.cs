using CrnpCloud.Core;
using CrnpCloud.ServiceDefaults;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace CrnpCloud.Ingest;

public static class IngestServiceCollectionExtensions
{
    /// <summary>
    /// Adds the gRPC event ingest: validated options, an HTTP/2 endpoint on <see cref="IngestOptions.Port"/>,
    /// the EventIngest service, gRPC health (store reachability) and reflection. The store must be
    /// registered first (<c>AddCrnpMemoryStore</c> or <c>AddCrnpRedisStore</c>).
    /// </summary>
    public static IHostApplicationBuilder AddCrnpIngest(this IHostApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddCrnpOptions<IngestOptions>(IngestOptions.Section)
            .Validate(o => o.MaxEventBytes <= o.MaxReceiveMessageBytes, $"{IngestOptions.Section}:MaxEventBytes must not exceed MaxReceiveMessageBytes")
            .Validate(o => TokenTable.WellFormed(o.PublishTokens), $"{IngestOptions.Section}:PublishTokens must be comma-separated tokens of visible ASCII characters, with no empty entry")
            .Validate(o => TokenTable.WellFormed(o.AdminTokens), $"{IngestOptions.Section}:AdminTokens must be comma-separated tokens of visible ASCII characters, with no empty entry");
        services.TryAddSingleton(TimeProvider.System);
        // The CrnpServer vendor name becomes the default vendor of published events.
        services.AddLiveSettings<IngestOptions>((o, live) =>
        {
            if (!string.IsNullOrWhiteSpace(live.VendorName) && ServerSettings.ValidVendorName(live.VendorName))
            {
                o.DefaultVendor = live.VendorName;
            }
        });
        services.AddSingleton<IngestTelemetry>();
        services.AddSingleton<Publisher>();
        services.AddMetrics();
        services.AddGrpc(grpc => grpc.Interceptors.Add<BearerTokenInterceptor>());
        services.AddOptions<Grpc.AspNetCore.Server.GrpcServiceOptions>().Configure<IOptions<IngestOptions>>((grpc, ingest) =>
            grpc.MaxReceiveMessageSize = ingest.Value.MaxReceiveMessageBytes);
        services.AddSingleton<BearerTokenInterceptor>();
        services.AddGrpcReflection();
        services.AddGrpcHealthChecks();
        services.AddStoreReadiness();
        services.AddListener<IngestOptions>(IngestOptions.Section, "grpc", "event ingest and admin (gRPC, HTTP/2 without TLS)",
            listen => listen.Protocols = HttpProtocols.Http2);
        return builder;
    }

    public static WebApplication MapCrnpIngest(this WebApplication app)
    {
        app.MapGrpcService<EventIngestService>();
        app.MapGrpcService<AdminService>();
        app.MapGrpcHealthChecksService();
        app.MapGrpcReflectionService();
        return app;
    }
}
