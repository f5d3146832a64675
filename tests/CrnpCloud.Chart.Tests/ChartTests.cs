using System.ComponentModel.DataAnnotations;
using CrnpCloud.Core;
using CrnpCloud.Delivery;
using CrnpCloud.Edge;
using CrnpCloud.Ingest;
using CrnpCloud.Operator;
using CrnpCloud.Redis;
using CrnpCloud.ServiceDefaults;
using k8s.Models;
using Microsoft.Extensions.Configuration;

namespace CrnpCloud.Chart.Tests;

public sealed class ChartTests
{
    public static TheoryData<string> ValuesFiles() => [.. Helm.CiValues.Select(f => Path.GetFileName(f))];

    private static string Ci(string name) => Path.Combine(Helm.Chart, "ci", name);

    [Fact]
    public void Lint_Strict_WithDefaultValues() => AssertLints([]);

    [Theory]
    [MemberData(nameof(ValuesFiles))]
    public void Lint_Strict_WithEachCiValuesFile(string file) => AssertLints(["-f", Ci(file)]);

    [Fact]
    public void TheCiValues_CoverDefaultsExternalRedisJaegerALoadBalancerAndMetrics()
    {
        var names = Helm.CiValues.Select(Path.GetFileName).ToList();
        Assert.Contains("default-values.yaml", names);
        Assert.Contains("external-redis-values.yaml", names);
        Assert.Contains("sentinel-values.yaml", names);
        Assert.Contains("jaeger-values.yaml", names);
        Assert.Contains("loadbalancer-values.yaml", names);
        Assert.Contains("metrics-values.yaml", names);
    }

    [Theory]
    [MemberData(nameof(ValuesFiles))]
    public void EveryWorkload_HasProbesSecurityContextAndResources_AndSelectorsMatchItsPods(string file)
    {
        var objects = Helm.Render(Ci(file));
        var workloads = Workloads(objects).ToList();
        Assert.NotEmpty(workloads);
        foreach (var (name, selector, pod) in workloads)
        {
            Assert.True(pod.Spec.SecurityContext?.RunAsNonRoot == true, $"{name}: pod runAsNonRoot");
            Assert.Equal("RuntimeDefault", pod.Spec.SecurityContext?.SeccompProfile?.Type);
            foreach (var c in pod.Spec.Containers)
            {
                var where = $"{name}/{c.Name}";
                Assert.True(c.LivenessProbe is not null, $"{where}: liveness probe");
                Assert.True(c.ReadinessProbe is not null, $"{where}: readiness probe");
                Assert.True(c.Resources?.Requests?.ContainsKey("cpu") == true && c.Resources.Requests.ContainsKey("memory"), $"{where}: requests");
                Assert.True(c.Resources?.Limits?.ContainsKey("cpu") == true && c.Resources.Limits.ContainsKey("memory"), $"{where}: limits");
                var sc = c.SecurityContext;
                Assert.True(sc is not null, $"{where}: securityContext");
                Assert.True(sc.RunAsNonRoot == true && sc.ReadOnlyRootFilesystem == true && sc.AllowPrivilegeEscalation == false, $"{where}: non-root, read-only, no escalation");
                Assert.Contains("ALL", sc.Capabilities?.Drop ?? []);
                Assert.Equal("RuntimeDefault", sc.SeccompProfile?.Type);
            }
            var labels = pod.Metadata.Labels;
            Assert.All(selector, kv => Assert.True(labels.TryGetValue(kv.Key, out var v) && v == kv.Value, $"{name}: selector {kv.Key}={kv.Value} not on its pods"));
            Assert.DoesNotContain("helm.sh/chart", selector.Keys);
            Assert.DoesNotContain("app.kubernetes.io/version", selector.Keys);
        }

        var podLabels = workloads.Select(w => w.Pod.Metadata.Labels).ToList();
        foreach (var service in objects.OfType<V1Service>())
        {
            Assert.True(podLabels.Any(l => Matches(service.Spec.Selector, l)), $"service {service.Metadata.Name} selects no pods");
        }
        foreach (var policy in objects.OfType<V1NetworkPolicy>())
        {
            Assert.True(podLabels.Any(l => Matches(policy.Spec.PodSelector.MatchLabels, l)), $"network policy {policy.Metadata.Name} selects no pods");
        }
        foreach (var pdb in objects.OfType<V1PodDisruptionBudget>())
        {
            Assert.True(podLabels.Any(l => Matches(pdb.Spec.Selector.MatchLabels, l)), $"PDB {pdb.Metadata.Name} selects no pods");
        }
    }

    [Fact]
    public void Defaults_InstallEveryComponent_WithBundledRedisOnAPersistentVolume()
    {
        var objects = Helm.Render();
        var deployments = objects.OfType<V1Deployment>().Select(d => d.Metadata.Name).Order().ToList();
        Assert.Equal(["crnpcloud-delivery", "crnpcloud-edge", "crnpcloud-ingest", "crnpcloud-jaeger", "crnpcloud-operator"], deployments);
        Assert.Equal(2, objects.OfType<V1Deployment>().Single(d => d.Metadata.Name == "crnpcloud-operator").Spec.Replicas);
        var redis = objects.OfType<V1StatefulSet>().Single();
        Assert.Contains("--appendonly", redis.Spec.Template.Spec.Containers[0].Args);
        Assert.Single(redis.Spec.VolumeClaimTemplates);
        Assert.Equal("crnpcloud-redis:6379", Config(objects)["Crnp__Store__Redis"]);
        Assert.Single(objects.OfType<CrnpServer>());
        Assert.Equal(2, objects.OfType<V1CustomResourceDefinition>().Count());
        Assert.Single(objects.OfType<V1PodDisruptionBudget>());
        Assert.Empty(objects.OfType<V2HorizontalPodAutoscaler>());
        Assert.Equal("ClusterIP", objects.OfType<V1Service>().Single(s => s.Metadata.Name == "crnpcloud-edge").Spec.Type);
        // Every pod rolls when its configuration changes (Jaeger's own ConfigMap for Jaeger).
        Assert.All(objects.OfType<V1Deployment>(), d => Assert.Contains(d.Metadata.Name == "crnpcloud-jaeger" ? "checksum/jaeger-config" : "checksum/config", d.Spec.Template.Metadata.Annotations.Keys));
    }

    [Fact]
    public void DeliverySysctls_ReachOnlyTheDeliveryPods()
    {
        static V1Deployment Delivery(IEnumerable<object> objects) => objects.OfType<V1Deployment>().Single(d => d.Metadata.Name == "crnpcloud-delivery");
        var defaults = Helm.Render();
        Assert.All(defaults.OfType<V1Deployment>(), d => Assert.Null(d.Spec.Template.Spec.SecurityContext.Sysctls));

        var tuned = Helm.Render(Ci("loadbalancer-values.yaml"));
        var sysctl = Assert.Single(Delivery(tuned).Spec.Template.Spec.SecurityContext.Sysctls);
        Assert.Equal(("net.ipv4.tcp_tw_reuse", "1"), (sysctl.Name, sysctl.Value));
        Assert.True(Delivery(tuned).Spec.Template.Spec.SecurityContext.RunAsNonRoot);
        Assert.All(tuned.OfType<V1Deployment>().Where(d => d.Metadata.Name != "crnpcloud-delivery"), d => Assert.Null(d.Spec.Template.Spec.SecurityContext.Sysctls));
    }

    [Fact]
    public void ExternalRedis_UsesTheUrlAndThePasswordSecret_AndBundlesNoRedis()
    {
        var objects = Helm.Render(Ci("external-redis-values.yaml"));
        Assert.Empty(objects.OfType<V1StatefulSet>());
        Assert.Equal("redis.example.internal:6379,ssl=true", Config(objects)["Crnp__Store__Redis"]);
        foreach (var d in objects.OfType<V1Deployment>().Where(d => d.Metadata.Name != "crnpcloud-jaeger"))
        {
            var password = d.Spec.Template.Spec.Containers[0].Env.Single(e => e.Name == "Crnp__Store__Password");
            Assert.Equal(("crnpcloud-redis", "password"), (password.ValueFrom.SecretKeyRef.Name, password.ValueFrom.SecretKeyRef.Key));
        }
    }

    [Fact]
    public void Jaeger_IsInstalled_AndEveryServiceExportsToIt()
    {
        var objects = Helm.Render(Ci("jaeger-values.yaml"));
        Assert.Contains(objects.OfType<V1Deployment>(), d => d.Metadata.Name == "crnpcloud-jaeger");
        Assert.Equal("http://crnpcloud-jaeger:4317", Config(objects)["OTEL_EXPORTER_OTLP_ENDPOINT"]);
        // On by default: one event can be followed in Jaeger as soon as the chart is installed.
        Assert.Equal("http://crnpcloud-jaeger:4317", Config(Helm.Render())["OTEL_EXPORTER_OTLP_ENDPOINT"]);
        Assert.DoesNotContain("OTEL_EXPORTER_OTLP_ENDPOINT", Config(Helm.Render(null, "jaeger.enabled=false")).Keys);
        Assert.Equal("http://collector:4317", Config(Helm.Render(null, "jaeger.enabled=false", "otlpEndpoint=http://collector:4317"))["OTEL_EXPORTER_OTLP_ENDPOINT"]);
    }

    [Fact]
    public void EdgeAsLoadBalancer_KeepsClientSourceIps()
    {
        var edge = Helm.Render(Ci("loadbalancer-values.yaml")).OfType<V1Service>().Single(s => s.Metadata.Name == "crnpcloud-edge");
        Assert.Equal("LoadBalancer", edge.Spec.Type);
        Assert.Equal("Local", edge.Spec.ExternalTrafficPolicy);
        var nodePort = Helm.Render(null, "edge.service.type=NodePort").OfType<V1Service>().Single(s => s.Metadata.Name == "crnpcloud-edge");
        Assert.Equal("Local", nodePort.Spec.ExternalTrafficPolicy);
    }

    [Theory]
    [MemberData(nameof(ValuesFiles))]
    public void TheSettingsTheChartSets_AreExactlyOptionsTheServicesBind(string file)
    {
        var objects = Helm.Render(Ci(file));
        var keys = Config(objects).Keys
            .Concat(objects.OfType<V1Deployment>()
                .Where(d => d.Metadata.Labels["app.kubernetes.io/component"] is "edge" or "ingest" or "delivery" or "operator")
                .SelectMany(d => d.Spec.Template.Spec.Containers).SelectMany(c => c.Env ?? []).Select(e => e.Name))
            .Distinct()
            .ToList();
        string[] platform = ["POD_NAME", "POD_NAMESPACE", "DOTNET_EnableDiagnostics", "OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_PROTOCOL"];
        var sections = new Dictionary<string, Type>
        {
            [EdgeOptions.Section] = typeof(EdgeOptions),
            [IngestOptions.Section] = typeof(IngestOptions),
            [DeliveryOptions.Section] = typeof(DeliveryOptions),
            [RedisStoreOptions.Section] = typeof(RedisStoreOptions),
            [ManagementOptions.Section] = typeof(ManagementOptions),
            [LiveSettingsOptions.Section] = typeof(LiveSettingsOptions),
            [OperatorOptions.Section] = typeof(OperatorOptions),
        };
        foreach (var key in keys.Where(k => !platform.Contains(k)))
        {
            var path = key.Replace("__", ":", StringComparison.Ordinal);
            var split = path.LastIndexOf(':');
            Assert.True(split > 0 && sections.ContainsKey(path[..split]), $"{key}: not a section a service binds");
            var property = sections[path[..split]].GetProperty(path[(split + 1)..]);
            Assert.True(property?.CanWrite == true, $"{key}: {sections[path[..split]].Name} has no settable {path[(split + 1)..]}");
        }

        // And the values bind: every ConfigMap value converts to its option's type (durations as the
        // services read them, AddCrnpOptions), within the bounds the options allow.
        Durations.AcceptInConfiguration();
        var config = new ConfigurationBuilder().AddInMemoryCollection(
            Config(objects).Where(kv => kv.Key.StartsWith("Crnp__", StringComparison.Ordinal))
                .Select(kv => KeyValuePair.Create(kv.Key.Replace("__", ":", StringComparison.Ordinal), (string?)kv.Value))).Build();
        foreach (var (section, type) in sections)
        {
            var bound = config.GetSection(section).Get(type, o => o.ErrorOnUnknownConfiguration = true);
            Assert.True(bound is not null || !config.GetSection(section).Exists(), $"{section} did not bind");
            if (bound is not null)
            {
                var invalid = new List<ValidationResult>();
                Assert.True(Validator.TryValidateObject(bound, new ValidationContext(bound), invalid, validateAllProperties: true),
                    $"{section}: {string.Join("; ", invalid.Select(r => r.ErrorMessage))}");
            }
        }
    }

    [Fact]
    public void Durations_InEitherForm_ReachTheServicesAsWritten_AndBind()
    {
        var config = Config(Helm.Render(null, "delivery.retryInterval=00:00:45", "edge.clientTimeout=1m30s", "operator.statusInterval=250ms"));
        Assert.Equal(("00:00:45", "1m30s", "250ms"), (config["Crnp__Delivery__RetryInterval"], config["Crnp__Edge__ClientTimeout"], config["Crnp__Operator__StatusInterval"]));
        Assert.Equal("30s", Config(Helm.Render())["Crnp__Delivery__RetryInterval"]);

        Durations.AcceptInConfiguration();
        var bound = new ConfigurationBuilder().AddInMemoryCollection(config.Select(kv =>
            KeyValuePair.Create(kv.Key.Replace("__", ":", StringComparison.Ordinal), (string?)kv.Value))).Build();
        Assert.Equal(TimeSpan.FromSeconds(45), bound.GetSection(DeliveryOptions.Section).Get<DeliveryOptions>()!.RetryInterval);
        Assert.Equal(TimeSpan.FromSeconds(90), bound.GetSection(EdgeOptions.Section).Get<EdgeOptions>()!.ClientTimeout);
        Assert.Equal(TimeSpan.FromMilliseconds(250), bound.GetSection(OperatorOptions.Section).Get<OperatorOptions>()!.StatusInterval);
    }

    [Fact]
    public void TheChartsCrds_AreTheOperators()
    {
        var crds = Helm.Render().OfType<V1CustomResourceDefinition>().ToDictionary(c => c.Spec.Names.Kind);
        Assert.Equal([CrnpApi.ClientKind, CrnpApi.ServerKind], crds.Keys.Order());
        Assert.Equal(CrnpApi.ClientPlural, crds[CrnpApi.ClientKind].Spec.Names.Plural);
        Assert.Equal(CrnpApi.ServerPlural, crds[CrnpApi.ServerKind].Spec.Names.Plural);
        Assert.All(crds.Values, c => Assert.Equal((CrnpApi.Group, CrnpApi.Version), (c.Spec.Group, c.Spec.Versions.Single().Name)));
        // One copy only: the chart's crds/ is where the operator's tests read them from as well.
        Assert.DoesNotContain(Directory.GetFiles(Path.Combine(Helm.RepoRoot, "operator"), "*.yaml", SearchOption.AllDirectories),
            f => !f.Contains("/bin/", StringComparison.Ordinal) && !f.Contains("/obj/", StringComparison.Ordinal));
    }

    [Fact]
    public void Rbac_AllowsWhatTheOperatorCalls_AndNoMore()
    {
        var objects = Helm.Render();
        static HashSet<string> Rules(IEnumerable<V1PolicyRule> rules) =>
            [.. rules.SelectMany(r => r.ApiGroups.SelectMany(g => r.Resources.SelectMany(res => r.Verbs.Select(v => $"{g}|{res}|{v}"))))];
        static HashSet<string> Required(PermissionScope scope) =>
            [.. OperatorPermissions.Required.Where(p => p.Scope == scope).SelectMany(p => p.Verbs.Select(v => $"{p.Group}|{p.Resource}|{v}"))];

        Assert.Equal(Required(PermissionScope.Cluster).Order(), Rules(objects.OfType<V1ClusterRole>().Single().Rules).Order());
        Assert.Equal(Required(PermissionScope.OwnNamespace).Order(), Rules(objects.OfType<V1Role>().Single().Rules).Order());
        var operatorPod = objects.OfType<V1Deployment>().Single(d => d.Metadata.Name == "crnpcloud-operator").Spec.Template.Spec;
        Assert.Equal(objects.OfType<V1ServiceAccount>().Single().Metadata.Name, operatorPod.ServiceAccountName);
        Assert.All(objects.OfType<V1Deployment>().Where(d => d.Metadata.Name != "crnpcloud-operator"),
            d => Assert.False(d.Spec.Template.Spec.AutomountServiceAccountToken, $"{d.Metadata.Name} mounts an API token it does not need"));
        Assert.Equal(objects.OfType<V1ClusterRole>().Single().Metadata.Name, objects.OfType<V1ClusterRoleBinding>().Single().RoleRef.Name);
        Assert.Equal(objects.OfType<V1Role>().Single().Metadata.Name, objects.OfType<V1RoleBinding>().Single().RoleRef.Name);
    }

    [Theory]
    [InlineData("edge.replicas=abc", "edge.replicas: Invalid type")]
    [InlineData("edgee.replicas=2", "Additional property edgee is not allowed")]
    [InlineData("delivery.retryInterval=30 seconds", "delivery.retryInterval: Does not match pattern")]
    [InlineData("redis.enabled=false", "Must validate \"then\"")]
    [InlineData("delivery.sysctls[0].name=net.ipv4.tcp_tw_reuse", "delivery.sysctls.0: value is required")]
    [InlineData("delivery.sysctls[0].name=TW reuse", "delivery.sysctls.0.name: Does not match pattern")]
    [InlineData("jaeger.image.tag=", "jaeger.image.tag: String length must be greater than or equal to 1")]
    [InlineData("metrics.prometheusRule.failureRatio=2", "metrics.prometheusRule.failureRatio: Must be less than or equal to 1")]
    [InlineData("metrics.serviceMonitor.interval=30s0", "metrics.serviceMonitor.interval: Does not match pattern")]
    [InlineData("metrics.grafanaDashboard.enabled=yes", "metrics.grafanaDashboard.enabled: Invalid type")]
    [InlineData("metrics.alerts=true", "Additional property alerts is not allowed")]
    [InlineData("ingest.auth.publishKey=a.b", "ingest.auth.publishKey: Does not match pattern")]
    public void TheValuesSchema_RejectsWrongTypesAndUnknownKeys(string set, string expected)
    {
        var (code, _, errors) = Helm.Run("template", "crnpcloud", Helm.Chart, "--set", set);
        Assert.NotEqual(0, code);
        Assert.Contains(expected, errors, StringComparison.Ordinal);
    }

    [Fact]
    public void ValuesYaml_PointsAtTheSchema() =>
        Assert.StartsWith("# yaml-language-server: $schema=./values.schema.json", File.ReadLines(Path.Combine(Helm.Chart, "values.yaml")).First(), StringComparison.Ordinal);

    private static void AssertLints(string[] extra)
    {
        var (code, output, errors) = Helm.Run(["lint", "--strict", Helm.Chart, .. extra]);
        Assert.True(code == 0, $"helm lint --strict failed:\n{output}\n{errors}");
        Assert.Contains("0 chart(s) failed", output, StringComparison.Ordinal);
    }

    private static IDictionary<string, string> Config(List<object> objects) =>
        objects.OfType<V1ConfigMap>().Single(c => c.Metadata.Name.EndsWith("-config", StringComparison.Ordinal)).Data;

    private static bool Matches(IDictionary<string, string>? selector, IDictionary<string, string> labels) =>
        selector is { Count: > 0 } && selector.All(kv => labels.TryGetValue(kv.Key, out var v) && v == kv.Value);

    private static IEnumerable<(string Name, IDictionary<string, string> Selector, V1PodTemplateSpec Pod)> Workloads(List<object> objects) =>
        objects.OfType<V1Deployment>().Select(d => (d.Metadata.Name, d.Spec.Selector.MatchLabels, d.Spec.Template))
            .Concat(objects.OfType<V1StatefulSet>().Select(s => (s.Metadata.Name, s.Spec.Selector.MatchLabels, s.Spec.Template)));
}
