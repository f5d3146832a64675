using System.Text.Json;
using System.Text.RegularExpressions;
using CrnpCloud.Delivery;
using CrnpCloud.Edge;
using CrnpCloud.Ingest;
using CrnpCloud.Protocol;
using CrnpCloud.ServiceDefaults;
using CrnpCloud.Testing;
using k8s.Models;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry.Metrics;
using YamlDotNet.RepresentationModel;

namespace CrnpCloud.Chart.Tests;

/// <summary>Jaeger v2, the bundled Redis, and the optional Prometheus Operator objects and Grafana dashboard.</summary>
public sealed partial class ObservabilityTests
{
    private static string Ci(string name) => Path.Combine(Helm.Chart, "ci", name);

    private const string AllMetrics = "metrics.serviceMonitor.enabled=true";
    private const string Rules = "metrics.prometheusRule.enabled=true";
    private const string Dashboard = "metrics.grafanaDashboard.enabled=true";

    // ---- Jaeger v2 ----

    [Fact]
    public void Jaeger_IsV2_ConfiguredByItsConfigMap_WithProbesOnTheHealthExtension()
    {
        var objects = Helm.Render(Ci("jaeger-values.yaml"));
        var deployment = objects.OfType<V1Deployment>().Single(d => d.Metadata.Name == "crnpcloud-jaeger");
        var pod = deployment.Spec.Template.Spec;
        var jaeger = pod.Containers.Single();
        Assert.Matches(@"^docker\.io/jaegertracing/jaeger:2\.[0-9]+\.[0-9]+$", jaeger.Image);
        Assert.DoesNotContain(jaeger.Env ?? [], e => e.Name is "SPAN_STORAGE_TYPE" or "COLLECTOR_OTLP_ENABLED" or "MEMORY_MAX_TRACES");
        Assert.Equal(["--config", "/etc/jaeger/config.yaml"], jaeger.Args);
        Assert.True(pod.SecurityContext.RunAsNonRoot);
        Assert.Equal(10001, pod.SecurityContext.RunAsUser);
        Assert.True(jaeger.SecurityContext.ReadOnlyRootFilesystem);
        Assert.Equal("Recreate", deployment.Spec.Strategy.Type);

        var ports = jaeger.Ports.ToDictionary(p => p.Name, p => p.ContainerPort);
        Assert.Equal(new Dictionary<string, int> { ["otlp-grpc"] = 4317, ["otlp-http"] = 4318, ["ui"] = 16686, ["health"] = 13133 }, ports);
        foreach (var probe in new[] { jaeger.StartupProbe, jaeger.LivenessProbe, jaeger.ReadinessProbe })
        {
            Assert.Equal(("/status", "health"), (probe.HttpGet.Path, probe.HttpGet.Port.Value));
        }

        // The config the container reads parses as YAML and wires receivers, storage, query UI and health
        // to exactly the ports the pod declares.
        var map = objects.OfType<V1ConfigMap>().Single(c => c.Metadata.Name == "crnpcloud-jaeger");
        var mount = jaeger.VolumeMounts.Single(m => m.MountPath == "/etc/jaeger");
        Assert.Equal(map.Metadata.Name, pod.Volumes.Single(v => v.Name == mount.Name).ConfigMap.Name);
        var config = Yaml(map.Data["config.yaml"]);
        static int Port(string endpoint) => int.Parse(endpoint[(endpoint.LastIndexOf(':') + 1)..], System.Globalization.CultureInfo.InvariantCulture);
        Assert.Equal(4317, Port(Scalar(config, "receivers", "otlp", "protocols", "grpc", "endpoint")));
        Assert.Equal(4318, Port(Scalar(config, "receivers", "otlp", "protocols", "http", "endpoint")));
        Assert.Equal(16686, Port(Scalar(config, "extensions", "jaeger_query", "http", "endpoint")));
        Assert.Equal(13133, Port(Scalar(config, "extensions", "healthcheckv2", "http", "endpoint")));
        Assert.Equal("/status", Scalar(config, "extensions", "healthcheckv2", "http", "status", "path"));
        Assert.Equal("true", Scalar(config, "extensions", "healthcheckv2", "use_v2"));
        // Listening on every address of the pod, not Jaeger's localhost defaults.
        Assert.StartsWith("0.0.0.0:", Scalar(config, "receivers", "otlp", "protocols", "grpc", "endpoint"), StringComparison.Ordinal);
        Assert.StartsWith("0.0.0.0:", Scalar(config, "extensions", "jaeger_query", "http", "endpoint"), StringComparison.Ordinal);
        Assert.StartsWith("0.0.0.0:", Scalar(config, "extensions", "healthcheckv2", "http", "endpoint"), StringComparison.Ordinal);

        var store = Scalar(config, "extensions", "jaeger_query", "storage", "traces");
        Assert.Equal(store, Scalar(config, "exporters", "jaeger_storage_exporter", "trace_storage"));
        Assert.Equal("50000", Scalar(config, "extensions", "jaeger_storage", "backends", store, "memory", "max_traces"));
        Assert.Equal(["jaeger_storage", "jaeger_query", "healthcheckv2"], Sequence(config, "service", "extensions"));
        Assert.Equal(["otlp"], Sequence(config, "service", "pipelines", "traces", "receivers"));
        Assert.Equal(["batch"], Sequence(config, "service", "pipelines", "traces", "processors"));
        Assert.Equal(["jaeger_storage_exporter"], Sequence(config, "service", "pipelines", "traces", "exporters"));
        Assert.True(((YamlMappingNode)config["processors"]).Children.ContainsKey("batch"));
        Assert.Contains("checksum/jaeger-config", deployment.Spec.Template.Metadata.Annotations.Keys);

        // Every service exports to the Service's OTLP gRPC port.
        var service = objects.OfType<V1Service>().Single(s => s.Metadata.Name == "crnpcloud-jaeger");
        Assert.Equal(4317, service.Spec.Ports.Single(p => p.Name == "otlp-grpc").Port);
        Assert.Equal("http://crnpcloud-jaeger:4317", objects.OfType<V1ConfigMap>().Single(c => c.Metadata.Name == "crnpcloud-config").Data["OTEL_EXPORTER_OTLP_ENDPOINT"]);
        Assert.Equal("5000", Scalar(Yaml(Helm.Render(Ci("jaeger-values.yaml"), "jaeger.maxTraces=5000").OfType<V1ConfigMap>()
            .Single(c => c.Metadata.Name == "crnpcloud-jaeger").Data["config.yaml"]), "extensions", "jaeger_storage", "backends", store, "memory", "max_traces"));
    }

    [Fact]
    public void TheBundledRedis_IsACurrentRelease_RunWithTheSameFlags()
    {
        var redis = Helm.Render().OfType<V1StatefulSet>().Single().Spec.Template.Spec.Containers.Single();
        var match = Regex.Match(redis.Image, @"^docker\.io/library/redis:([0-9]+)\.([0-9]+)\.([0-9]+)$");
        Assert.True(match.Success, redis.Image);
        Assert.True(int.Parse(match.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) >= 8, $"{redis.Image}: Redis 7.x and older are not current");
        Assert.Equal(["--appendonly", "yes", "--appendfsync", "everysec", "--dir", "/data", "--save", "", "--auto-aof-rewrite-min-size", RedisServer.AofRewriteMinSize], redis.Args);
    }

    [Theory]
    [InlineData(null, false)]
    [InlineData("http://127.0.0.1:4317", true)]
    public void Spans_AreMadeOnlyWhenAnOtlpExporterIsSet(string? endpoint, bool traced)
    {
        // Without an exporter a tracer provider would still listen to every CrnpCloud source, and each
        // delivery, publish and registration would build, tag and end a span nobody reads.
        var builder = WebApplication.CreateSlimBuilder();
        if (endpoint is not null)
        {
            builder.Configuration["OTEL_EXPORTER_OTLP_ENDPOINT"] = endpoint;
        }
        builder.AddServiceDefaults("spans-test");
        using var app = builder.Build();

        Assert.Equal(traced, app.Services.GetService<OpenTelemetry.Trace.TracerProvider>() is not null);
    }

    // ---- Prometheus Operator objects and the dashboard ----

    [Fact]
    public void EveryComponent_HasAMetricsServiceOnItsManagementPort()
    {
        var objects = Helm.Render();
        var pods = objects.OfType<V1Deployment>().Where(d => d.Metadata.Labels["app.kubernetes.io/part-of"] == "crnpcloud" && d.Metadata.Name != "crnpcloud-jaeger").ToList();
        Assert.Equal(4, pods.Count);
        foreach (var deployment in pods)
        {
            var component = deployment.Metadata.Labels["app.kubernetes.io/component"];
            var service = objects.OfType<V1Service>().Single(s => s.Metadata.Name == $"crnpcloud-{component}-metrics");
            Assert.Equal("None", service.Spec.ClusterIP);
            Assert.Equal("true", service.Metadata.Labels["crnp.cloud/metrics"]);
            Assert.All(service.Spec.Selector, kv => Assert.Equal(kv.Value, deployment.Spec.Template.Metadata.Labels[kv.Key]));
            var port = Assert.Single(service.Spec.Ports);
            Assert.Equal(("management", 9464, "management"), (port.Name, port.Port, port.TargetPort.Value));
            Assert.Contains(deployment.Spec.Template.Spec.Containers.Single().Ports, p => p.Name == "management" && p.ContainerPort == 9464);
        }
    }

    [Fact]
    public void ThePrometheusOperatorObjectsAndTheDashboard_AreOffByDefault()
    {
        var defaults = Helm.RenderText();
        Assert.DoesNotContain("kind: ServiceMonitor", defaults, StringComparison.Ordinal);
        Assert.DoesNotContain("kind: PrometheusRule", defaults, StringComparison.Ordinal);
        Assert.DoesNotContain("grafana_dashboard", defaults, StringComparison.Ordinal);
    }

    [Fact]
    public void TheServiceMonitor_ScrapesTheManagementPortOfEveryMetricsService()
    {
        var monitor = Helm.RenderDocuments(null, AllMetrics, "metrics.serviceMonitor.labels.release=kps").Single(d => Kind(d) == "ServiceMonitor");
        var labels = (YamlMappingNode)Map(monitor, "metadata")["labels"];
        Assert.Equal("kps", labels["release"].ToString());
        var selector = ((YamlMappingNode)Map(monitor, "spec", "selector")["matchLabels"]).Children.ToDictionary(k => k.Key.ToString(), k => k.Value.ToString());
        var endpoint = (YamlMappingNode)((YamlSequenceNode)Map(monitor, "spec")["endpoints"]).Single();
        Assert.Equal(("management", "/metrics"), (endpoint["port"].ToString(), endpoint["path"].ToString()));

        var services = Helm.Render(null, AllMetrics).OfType<V1Service>().ToList();
        var selected = services.Where(s => selector.All(kv => s.Metadata.Labels.TryGetValue(kv.Key, out var v) && v == kv.Value)).ToList();
        Assert.Equal(["crnpcloud-delivery-metrics", "crnpcloud-edge-metrics", "crnpcloud-ingest-metrics", "crnpcloud-operator-metrics"], selected.Select(s => s.Metadata.Name).Order());
        Assert.All(selected, s => Assert.Contains(s.Spec.Ports, p => p.Name == "management"));
    }

    [Fact]
    public void TheAlerts_CoverWhatBreaksDelivery_AndUseOnlyMetricsTheServicesExport()
    {
        var rule = Helm.RenderDocuments(null, Rules).Single(d => Kind(d) == "PrometheusRule");
        var alerts = ((YamlSequenceNode)((YamlMappingNode)((YamlSequenceNode)Map(rule, "spec")["groups"]).Single())["rules"]).Cast<YamlMappingNode>()
            .ToDictionary(r => r["alert"].ToString(), r => r["expr"].ToString());
        Assert.Equal(["CrnpClientRemoved", "CrnpDeliveryBacklogGrowing", "CrnpDeliveryFailures", "CrnpPartitionsWithoutOwner", "CrnpStoreUnavailable"], alerts.Keys.Order());
        Assert.Contains("crnp_delivery_client_removals_total", alerts["CrnpClientRemoved"], StringComparison.Ordinal);
        Assert.Contains("crnp_delivery_backlog", alerts["CrnpDeliveryBacklogGrowing"], StringComparison.Ordinal);
        Assert.Contains("result=\"failed\"", alerts["CrnpDeliveryFailures"], StringComparison.Ordinal);
        Assert.Contains("< 64", alerts["CrnpPartitionsWithoutOwner"], StringComparison.Ordinal);
        Assert.Contains("result=\"unavailable\"", alerts["CrnpStoreUnavailable"], StringComparison.Ordinal);
        Assert.All(alerts.Values, e => Assert.Contains("namespace=\"crnp-system\"", e, StringComparison.Ordinal));

        var exported = ExportedSeries();
        foreach (var (alert, expr) in alerts)
        {
            var used = MetricNames(expr).ToList();
            Assert.NotEmpty(used);
            Assert.All(used, m => Assert.True(exported.Contains(m), $"{alert} uses {m}, which no instrument in services/ or operator/ exports"));
        }
        // The attribute values the alerts filter on are ones the code records.
        var sources = Sources();
        Assert.Contains("\"unavailable\"", sources, StringComparison.Ordinal);
        Assert.Contains("ok ? \"ok\" : \"failed\"", sources, StringComparison.Ordinal);
    }

    [Fact]
    public void TheDashboard_IsAGrafanaConfigMapWhoseQueriesUseOnlyExportedMetrics()
    {
        var map = Helm.Render(null, Dashboard, "metrics.grafanaDashboard.annotations.grafana_folder=CRNP").OfType<V1ConfigMap>().Single(c => c.Metadata.Name == "crnpcloud-dashboard");
        Assert.Equal("1", map.Metadata.Labels["grafana_dashboard"]);
        Assert.Equal("CRNP", map.Metadata.Annotations["grafana_folder"]);
        using var json = JsonDocument.Parse(map.Data["crnpcloud.json"]);
        Assert.Equal("crnpcloud", json.RootElement.GetProperty("uid").GetString());
        var exprs = json.RootElement.GetProperty("panels").EnumerateArray()
            .SelectMany(p => p.GetProperty("targets").EnumerateArray()).Select(t => t.GetProperty("expr").GetString()!).ToList();
        Assert.True(exprs.Count >= 10);
        var exported = ExportedSeries();
        var used = exprs.SelectMany(MetricNames).ToHashSet();
        Assert.All(used, m => Assert.True(exported.Contains(m), $"the dashboard uses {m}, which no instrument exports"));
        // Every instrument of the delivery pool is on it.
        Assert.All(Instruments().Where(i => i.Name.StartsWith("crnp.delivery.", StringComparison.Ordinal)),
            i => Assert.True(PrometheusNames(i).Any(used.Contains), $"the dashboard does not show {i.Name}"));
    }

    /// <summary>
    /// The conversion <see cref="PrometheusNames"/> applies is the exporter's own: the services' telemetry classes
    /// record one of each kind of instrument, the OpenTelemetry Prometheus exporter the services use
    /// (services/CrnpCloud.ServiceDefaults) is scraped, and every name the sources declare appears as converted.
    /// </summary>
    [Fact]
    public async Task TheNameConversion_IsWhatTheServicesPrometheusExporterWrites()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Services.AddMetrics();
        builder.Services.AddOptions<DeliveryOptions>();
        // The delivery pool's telemetry observes its connection budgets; both types are internal to it.
        builder.Services.AddSingleton(sp =>
        {
            var pools = Activator.CreateInstance(typeof(DeliveryOptions).Assembly.GetType("CrnpCloud.Delivery.ConnectionPools", throwOnError: true)!,
                System.Reflection.BindingFlags.Instance | System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.NonPublic, null,
                [sp.GetRequiredService<Microsoft.Extensions.Options.IOptionsMonitor<DeliveryOptions>>()], null)!;
            return (DeliveryTelemetry)Activator.CreateInstance(typeof(DeliveryTelemetry),
                System.Reflection.BindingFlags.Instance | System.Reflection.BindingFlags.NonPublic, null,
                [sp.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>(), pools], null)!;
        }).AddSingleton<EdgeTelemetry>().AddSingleton<IngestTelemetry>();
        builder.Services.AddOpenTelemetry().WithMetrics(m => m.AddMeter("CrnpCloud.*").AddPrometheusExporter());
        await using var app = builder.Build();
        app.MapPrometheusScrapingEndpoint("/metrics");
        await app.StartAsync();

        var delivery = app.Services.GetRequiredService<DeliveryTelemetry>();
        delivery.Attempted(ok: false, attempt: 2, TimeSpan.FromMilliseconds(3), null);
        delivery.Attempted(ok: true, attempt: 1, TimeSpan.FromMilliseconds(3), TimeSpan.FromMilliseconds(9));
        delivery.Removed();
        delivery.Backlog(0, 5);
        delivery.Partitions(64);
        delivery.ClientLoops(1);
        delivery.Demoted(putOff: true);
        delivery.AcksCommitted(3);
        var edge = app.Services.GetRequiredService<EdgeTelemetry>();
        edge.Answered(StatusCode.Ok, "ADD_CLIENT", TimeSpan.FromMilliseconds(1));
        edge.Refused("address_limit");
        edge.IdleClosed();
        var ingest = app.Services.GetRequiredService<IngestTelemetry>();
        ingest.Published(1, TimeSpan.FromMilliseconds(2));
        ingest.Rejected("unavailable");
        ingest.Refused("crnp.v1.Admin", "permission_denied");
        var operatorType = typeof(CrnpCloud.Operator.OperatorOptions).Assembly.GetType("CrnpCloud.Operator.OperatorTelemetry", throwOnError: true)!;
        using var operatorTelemetry = (IDisposable)Activator.CreateInstance(operatorType, nonPublic: true)!;
        operatorType.GetMethod("Removed")!.Invoke(operatorTelemetry, null);
        operatorType.GetMethod("Registered")!.Invoke(operatorTelemetry, null);
        operatorType.GetMethod("Reconciled")!.Invoke(operatorTelemetry, ["CrnpClient", "ok"]);
        operatorType.GetMethod("Leading")!.Invoke(operatorTelemetry, [true]);
        var healthType = operatorType.Assembly.GetType("CrnpCloud.Operator.ClientHealth", throwOnError: true)!;
        using var health = (IDisposable)Activator.CreateInstance(healthType, new CrnpCloud.Operator.OperatorOptions(), TimeProvider.System)!;
        healthType.GetMethod("Observe")!.Invoke(health, ["apps/billing", new CrnpCloud.Core.DeliveryStatus(3, DateTimeOffset.UtcNow, 1, "ConnectionRefused", DateTimeOffset.UtcNow, 7)]);

        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        using var http = new HttpClient();
        var scraped = (await http.GetStringAsync(address + "/metrics")).Split('\n')
            .Where(l => l.Length > 0 && l[0] != '#').Select(l => Regex.Match(l, "^[a-zA-Z_:][a-zA-Z0-9_:]*").Value).ToHashSet();
        await app.StopAsync();

        var instruments = Instruments().ToList();
        Assert.True(instruments.Count >= 15, $"found only {instruments.Count} instruments in the sources");
        foreach (var instrument in instruments)
        {
            Assert.All(PrometheusNames(instrument), name => Assert.True(scraped.Contains(name), $"{instrument} was expected as {name}; scraped: {string.Join(", ", scraped.Where(s => s.StartsWith("crnp", StringComparison.Ordinal)))}"));
        }
    }

    // ---- helpers ----

    internal sealed record Instrument(string Kind, string Name, string? Unit, string File);

    /// <summary>Every instrument declared in services/ and operator/ (Meter.Create...("name", "unit", ...)).</summary>
    internal static IEnumerable<Instrument> Instruments() =>
        SourceFiles().SelectMany(file => InstrumentDeclaration().Matches(File.ReadAllText(file))
            .Select(m => new Instrument(m.Groups["kind"].Value, m.Groups["name"].Value, m.Groups["unit"].Success ? m.Groups["unit"].Value : null, Path.GetRelativePath(Helm.RepoRoot, file))));

    /// <summary>
    /// The series the OpenTelemetry Prometheus exporter writes for an instrument: dots become underscores,
    /// the unit is appended (ms as milliseconds), counters end in _total, histograms give _bucket, _sum, _count.
    /// </summary>
    internal static IEnumerable<string> PrometheusNames(Instrument instrument)
    {
        var name = instrument.Name.Replace('.', '_');
        var unit = instrument.Unit switch { null or "" => "", "ms" => "milliseconds", "s" => "seconds", "By" => "bytes", var u => u };
        if (unit.Length > 0 && !name.EndsWith("_" + unit, StringComparison.Ordinal))
        {
            name += "_" + unit;
        }
        return instrument.Kind switch
        {
            "Counter" or "ObservableCounter" => [name + "_total"],
            "Histogram" => [name + "_bucket", name + "_sum", name + "_count"],
            _ => [name],
        };
    }

    private static HashSet<string> ExportedSeries() => [.. Instruments().SelectMany(PrometheusNames)];

    private static IEnumerable<string> MetricNames(string expr) => CrnpMetric().Matches(expr).Select(m => m.Value).Distinct();

    private static IEnumerable<string> SourceFiles() =>
        new[] { "services", "operator" }.SelectMany(d => Directory.GetFiles(Path.Combine(Helm.RepoRoot, d), "*.cs", SearchOption.AllDirectories))
            .Where(f => !f.Contains("/obj/", StringComparison.Ordinal) && !f.Contains("/bin/", StringComparison.Ordinal));

    private static string Sources() => string.Concat(SourceFiles().Select(File.ReadAllText));

    private static YamlMappingNode Yaml(string text)
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(text));
        return (YamlMappingNode)stream.Documents.Single().RootNode;
    }

    private static YamlMappingNode Map(YamlMappingNode node, params string[] path) =>
        path.Aggregate(node, (n, key) => (YamlMappingNode)n[key]);

    private static string Scalar(YamlMappingNode node, params string[] path) =>
        ((YamlScalarNode)Map(node, path[..^1])[path[^1]]).Value!;

    private static List<string> Sequence(YamlMappingNode node, params string[] path) =>
        [.. ((YamlSequenceNode)Map(node, path[..^1])[path[^1]]).Cast<YamlScalarNode>().Select(s => s.Value!)];

    private static string Kind(YamlMappingNode document) => document.Children.TryGetValue("kind", out var kind) ? kind.ToString() : "";

    [GeneratedRegex("""\.Create(?<kind>Counter|Histogram|UpDownCounter|Gauge|ObservableGauge|ObservableCounter|ObservableUpDownCounter)(<[^>]+>)?\(\s*"(?<name>crnp\.[a-z0-9_.]+)"(\s*,\s*"(?<unit>[^"]*)")?""")]
    private static partial Regex InstrumentDeclaration();

    [GeneratedRegex(@"\bcrnp_[a-z0-9_]+\b")]
    private static partial Regex CrnpMetric();
}
