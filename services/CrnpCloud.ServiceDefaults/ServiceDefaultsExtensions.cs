using System.Globalization;
using CrnpCloud.Core;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace CrnpCloud.ServiceDefaults;

public static class ServiceDefaultsExtensions
{
    /// <summary>Tag of the health checks <c>/readyz</c> runs; <c>/healthz</c> runs none (the process answers).</summary>
    public const string ReadyTag = "ready";

    private static readonly string[] ManagementPaths = ["/healthz", "/readyz", "/metrics"];

    /// <summary>
    /// OpenTelemetry (every CrnpCloud meter, with a Prometheus scrape endpoint; every span source and
    /// OTLP export when the standard <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is set), health checks with
    /// the store's reachability as readiness, and the management HTTP endpoint on
    /// <see cref="ManagementOptions.Port"/>.
    /// </summary>
    /// <param name="serviceName">the <c>service.name</c> resource attribute, unless <c>OTEL_SERVICE_NAME</c> overrides it</param>
    public static IHostApplicationBuilder AddServiceDefaults(this IHostApplicationBuilder builder, string serviceName)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var services = builder.Services;
        services.AddCrnpOptions<ManagementOptions>(ManagementOptions.Section);
        services.AddListener<ManagementOptions>(ManagementOptions.Section, "http", "health and metrics (HTTP: /healthz /readyz /metrics)",
            listen => listen.Protocols = HttpProtocols.Http1);

        services.AddStoreReadiness();

        var otel = services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService(
                builder.Configuration["OTEL_SERVICE_NAME"] is { Length: > 0 } configured ? configured : serviceName,
                serviceNamespace: "crnpcloud",
                serviceVersion: ServiceVersion.Release))
            .WithMetrics(metrics => metrics
                .AddMeter("CrnpCloud.*")
                .AddAspNetCoreInstrumentation()
                .AddPrometheusExporter())
            .WithLogging();
        if (!string.IsNullOrWhiteSpace(builder.Configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]))
        {
            // Spans only when they go somewhere: with no exporter a listener would still make every
            // delivery build, tag and end a span that nobody reads (the sources' StartActivity returns
            // null when nothing listens). Endpoint, protocol (grpc or http/protobuf), headers and
            // batching come from the standard OTEL_* variables.
            otel.WithTracing(tracing => tracing
                    .AddSource("CrnpCloud.*")
                    .AddAspNetCoreInstrumentation(aspnet => aspnet.Filter = context => !IsManagement(context.Request.Path)))
                .UseOtlpExporter();
        }
        return builder;
    }

    /// <summary>The store's reachability as a readiness check, once however many components ask for it.</summary>
    public static IHealthChecksBuilder AddStoreReadiness(this IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        var checks = services.AddHealthChecks();
        if (!services.Any(d => d.ServiceType == typeof(StoreReadinessMarker)))
        {
            services.AddSingleton<StoreReadinessMarker>();
            checks.AddCheck<StoreHealthCheck>("store", tags: [ReadyTag]);
        }
        return checks;
    }

    /// <summary>
    /// The options of one settings section, registered the way every CrnpCloud component registers its
    /// own: bound from configuration (a duration in either form, <see cref="Durations"/>), checked by their
    /// data annotations (and any <see cref="IValidateOptions{TOptions}"/>) when the service starts, so a
    /// bad value stops it with a message naming the setting.
    /// </summary>
    public static OptionsBuilder<TOptions> AddCrnpOptions<TOptions>(this IServiceCollection services, string section)
        where TOptions : class
    {
        Durations.AcceptInConfiguration();
        return services.AddOptions<TOptions>().BindConfiguration(section).ValidateDataAnnotations().ValidateOnStart();
    }

    /// <summary>
    /// A named Kestrel endpoint on the <see cref="ListenEndpointOptions.ListenAddress"/> and
    /// <see cref="ListenEndpointOptions.Port"/> of <typeparamref name="TOptions"/> (section
    /// <paramref name="section"/>, checked by <see cref="ListenEndpointValidator{TOptions}"/>), recorded in
    /// <see cref="Listeners"/> so its bound port is printed and can be looked up.
    /// </summary>
    public static IServiceCollection AddListener<TOptions>(
        this IServiceCollection services, string section, string name, string description, Action<ListenOptions> configure)
        where TOptions : ListenEndpointOptions
    {
        ArgumentNullException.ThrowIfNull(configure);
        services.AddSingleton<IValidateOptions<TOptions>>(new ListenEndpointValidator<TOptions>(section));
        var listeners = services.AddListeners();
        services.AddOptions<KestrelServerOptions>().Configure<IOptions<TOptions>>((kestrel, options) =>
        {
            var endpoint = options.Value;
            kestrel.Listen(Listeners.ParseAddress(endpoint.ListenAddress), endpoint.Port, listen =>
            {
                configure(listen);
                listeners.Add(name, description, listen);
            });
        });
        return services;
    }

    /// <summary>The one <see cref="Listeners"/> of the process (services register their endpoints in it).</summary>
    public static Listeners AddListeners(this IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        var existing = services.FirstOrDefault(d => d.ServiceType == typeof(Listeners))?.ImplementationInstance as Listeners;
        if (existing is not null)
        {
            return existing;
        }
        var listeners = new Listeners();
        services.TryAddSingleton(listeners);
        return listeners;
    }

    /// <summary>
    /// Maps <c>/healthz</c> (live: the process answers), <c>/readyz</c> (every check tagged ready) and
    /// <c>/metrics</c> (Prometheus), and prints each endpoint once listening.
    /// </summary>
    public static WebApplication MapServiceDefaults(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        app.MapHealthChecks("/healthz", new HealthCheckOptions { Predicate = _ => false });
        app.MapHealthChecks("/readyz", new HealthCheckOptions { Predicate = check => check.Tags.Contains(ReadyTag) });
        app.MapPrometheusScrapingEndpoint("/metrics");
        var listeners = app.Services.GetRequiredService<Listeners>();
        app.Lifetime.ApplicationStarted.Register(() => PrintListeners(listeners, Console.Out));
        return app;
    }

    /// <summary>One line per endpoint: <c>listening NAME ADDRESS:PORT DESCRIPTION</c> (scripts and tests read the port here).</summary>
    public static void PrintListeners(Listeners listeners, TextWriter output)
    {
        ArgumentNullException.ThrowIfNull(listeners);
        ArgumentNullException.ThrowIfNull(output);
        foreach (var (name, description, endPoint) in listeners.Bound())
        {
            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"listening {name,-6} {endPoint,-18} {description}"));
        }
        output.Flush();
    }

    private sealed class StoreReadinessMarker;

    private static bool IsManagement(PathString path) => ManagementPaths.Any(p => path.StartsWithSegments(p, StringComparison.Ordinal));
}
