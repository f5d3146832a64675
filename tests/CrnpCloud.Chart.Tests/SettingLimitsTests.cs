using System.Globalization;
using System.Text.Json.Nodes;
using CrnpCloud.Core;
using CrnpCloud.Operator;
using k8s;
using k8s.Models;

namespace CrnpCloud.Chart.Tests;

/// <summary>
/// The CRDs and values.schema.json against <see cref="SettingLimits"/> and <see cref="Durations"/>, the one
/// home of every limit: every minimum and maximum (and length and item count) in those files is either a
/// C# constant's value, or named below as the schema's alone (a bound no C# code has, such as the
/// Sentinel quorum). A number changed on one side only, a bound added without a home, or one removed
/// that C# still enforces, fails here.
/// </summary>
public sealed class SettingLimitsTests
{
    private const string Values = "values";
    private const string Servers = CrnpApi.ServerPlural;
    private const string Clients = CrnpApi.ClientPlural;

    /// <summary>File, path (properties by name, <c>[]</c> for items, <c>#name</c> for a definition), keyword: the constant.</summary>
    private static readonly Dictionary<string, double> Held = new()
    {
        [$"{Servers}:spec.retryCount.minimum"] = SettingLimits.RetryCountMin,
        [$"{Servers}:spec.retryCount.maximum"] = SettingLimits.RetryCountMax,
        [$"{Servers}:spec.maxClients.minimum"] = SettingLimits.MaxClientsMin,
        [$"{Servers}:spec.maxClients.maximum"] = SettingLimits.MaxClientsMax,
        [$"{Servers}:spec.vendorName.minLength"] = SettingLimits.VendorNameMinLength,
        [$"{Servers}:spec.vendorName.maxLength"] = SettingLimits.VendorNameMaxLength,
        [$"{Servers}:spec.partitions.minimum"] = SettingLimits.PartitionsMin,
        [$"{Servers}:spec.partitions.maximum"] = SettingLimits.PartitionsMax,

        [$"{Clients}:spec.address.minLength"] = SettingLimits.ClientAddressMinLength,
        [$"{Clients}:spec.address.maxLength"] = SettingLimits.ClientAddressMaxLength,
        [$"{Clients}:spec.port.minimum"] = SettingLimits.PortMin,
        [$"{Clients}:spec.port.maximum"] = SettingLimits.PortMax,
        [$"{Clients}:spec.events.minItems"] = SettingLimits.ClientEventsMin,
        [$"{Clients}:spec.events.maxItems"] = SettingLimits.ClientEventsMax,
        [$"{Clients}:spec.retry.count.minimum"] = SettingLimits.RetryCountMin,
        [$"{Clients}:spec.retry.count.maximum"] = SettingLimits.RetryCountMax,

        [$"{Values}:#port.minimum"] = SettingLimits.PortMin,
        [$"{Values}:#port.maximum"] = SettingLimits.PortMax,
        [$"{Values}:partitions.minimum"] = SettingLimits.PartitionsMin,
        [$"{Values}:partitions.maximum"] = SettingLimits.PartitionsMax,
        [$"{Values}:edge.maxClients.minimum"] = SettingLimits.MaxClientsMin,
        [$"{Values}:edge.maxClients.maximum"] = SettingLimits.MaxClientsMax,
        [$"{Values}:delivery.retryCount.minimum"] = SettingLimits.RetryCountMin,
        [$"{Values}:delivery.retryCount.maximum"] = SettingLimits.RetryCountMax,
        [$"{Values}:delivery.connectionBudget.minimum"] = SettingLimits.ConnectionBudgetMin,
        [$"{Values}:delivery.connectionBudget.maximum"] = SettingLimits.ConnectionBudgetMax,
        [$"{Values}:operator.clientMetricsLimit.minimum"] = SettingLimits.ClientMetricsLimitMin,
        [$"{Values}:operator.clientMetricsLimit.maximum"] = SettingLimits.ClientMetricsLimitMax,
        [$"{Values}:redis.minReplicas.minimum"] = SettingLimits.MinReplicasMin,
        [$"{Values}:redis.minReplicas.maximum"] = SettingLimits.MinReplicasMax,
    };

    /// <summary>
    /// Bounds only the schemas have (Kubernetes objects the chart renders, the bundled Redis and Jaeger,
    /// alert thresholds, list sizes of a CrnpClient or CrnpServer no service reads): one place already.
    /// </summary>
    private static readonly HashSet<string> SchemaOnly =
    [
        $"{Servers}:spec.allowHosts.maxItems",
        $"{Servers}:spec.allowHosts[].maxLength",
        $"{Servers}:spec.denyHosts.maxItems",
        $"{Servers}:spec.denyHosts[].maxLength",
        $"{Clients}:spec.events[].class.minLength",
        $"{Clients}:spec.events[].class.maxLength",
        $"{Clients}:spec.events[].subclass.maxLength",
        $"{Clients}:spec.events[].nvpairs.maxItems",
        $"{Clients}:spec.events[].nvpairs[].name.minLength",
        $"{Clients}:spec.events[].nvpairs[].name.maxLength",
        $"{Clients}:spec.events[].nvpairs[].values.minItems",
        $"{Clients}:spec.events[].nvpairs[].values.maxItems",
        $"{Clients}:spec.events[].nvpairs[].values[].maxLength",
        $"{Values}:#replicas.minimum",
        $"{Values}:#replicas.maximum",
        $"{Values}:#image.repository.minLength",
        $"{Values}:#pinnedImage.repository.minLength",
        $"{Values}:#pinnedImage.tag.minLength",
        $"{Values}:#quantity.anyOf.1.minimum",
        $"{Values}:#labelKey.maxLength",
        $"{Values}:#externalRedisAddress.redis.anyOf.0.url.minLength",
        $"{Values}:#externalRedisAddress.redis.anyOf.1.external.address.minLength",
        $"{Values}:imagePullSecrets[].name.minLength",
        $"{Values}:ingest.auth.publishKey.minLength",
        $"{Values}:ingest.auth.adminKey.minLength",
        $"{Values}:delivery.sysctls[].value.minLength",
        $"{Values}:delivery.autoscaling.minReplicas.minimum",
        $"{Values}:delivery.autoscaling.minReplicas.maximum",
        $"{Values}:delivery.autoscaling.maxReplicas.minimum",
        $"{Values}:delivery.autoscaling.maxReplicas.maximum",
        $"{Values}:delivery.autoscaling.targetCPUUtilizationPercentage.minimum",
        $"{Values}:delivery.autoscaling.targetCPUUtilizationPercentage.maximum",
        $"{Values}:delivery.podDisruptionBudget.minAvailable.minimum",
        $"{Values}:delivery.podDisruptionBudget.minAvailable.maximum",
        $"{Values}:redis.sentinel.replicas.minimum",
        $"{Values}:redis.sentinel.replicas.maximum",
        $"{Values}:redis.sentinel.quorum.minimum",
        $"{Values}:redis.sentinel.quorum.maximum",
        $"{Values}:redis.sentinel.downAfterMilliseconds.minimum",
        $"{Values}:redis.sentinel.downAfterMilliseconds.maximum",
        $"{Values}:redis.sentinel.failoverTimeout.minimum",
        $"{Values}:redis.sentinel.failoverTimeout.maximum",
        $"{Values}:redis.existingSecretKey.minLength",
        $"{Values}:jaeger.maxTraces.minimum",
        $"{Values}:jaeger.maxTraces.maximum",
        $"{Values}:metrics.prometheusRule.backlogThreshold.minimum",
        $"{Values}:metrics.prometheusRule.failureRatio.exclusiveMinimum",
        $"{Values}:metrics.prometheusRule.failureRatio.maximum",
        // Standalone Redis has no replicas: minReplicas must be 0 there.
        $"{Values}:allOf.2.then.redis.minReplicas.maximum",
    ];

    private static readonly string[] Keywords =
        ["minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "minLength", "maxLength", "minItems", "maxItems", "minProperties", "maxProperties"];

    [Fact]
    public void EveryBound_InTheCrdsAndTheValuesSchema_IsTheCSharpConstant_OrTheSchemasAlone()
    {
        var found = new Dictionary<string, double>();
        foreach (var (file, schema) in Schemas())
        {
            foreach (var (path, value) in Bounds(schema, ""))
            {
                found.Add($"{file}:{path}", value);
            }
        }

        var wrong = Held.Where(h => found.TryGetValue(h.Key, out var value) && value != h.Value)
            .Select(h => $"{h.Key} is {found[h.Key]}, SettingLimits says {h.Value}");
        var missing = Held.Keys.Where(k => !found.ContainsKey(k)).Select(k => $"{k}: not in the schema, which should hold SettingLimits' bound");
        var homeless = found.Keys.Where(k => !Held.ContainsKey(k) && !SchemaOnly.Contains(k))
            .Select(k => $"{k} = {found[k]}: neither a SettingLimits constant (Held) nor listed as the schema's alone (SchemaOnly)");
        var stale = SchemaOnly.Where(k => !found.ContainsKey(k)).Select(k => $"{k}: listed in SchemaOnly but not in the schema");
        Assert.Empty(wrong.Concat(missing).Concat(homeless).Concat(stale));
    }

    [Fact]
    public void DurationPatterns_AreTheParsers_AndTheCrdsStateTheBoundsOfSettingLimits()
    {
        var values = ValuesSchema();
        Assert.Equal(Durations.SettingPattern, values["definitions"]!["duration"]!["pattern"]!.GetValue<string>());
        Assert.Equal(SettingLimits.ClusterNamePattern, values["properties"]!["cluster"]!["pattern"]!.GetValue<string>());

        var server = Crd(Servers).Properties["spec"];
        var client = Crd(Clients).Properties["spec"];
        var durations = new (string Where, V1JSONSchemaProps Field, string Bounds)[]
        {
            ("CrnpServer spec.retryInterval", server.Properties["retryInterval"], $"at most {SettingLimits.RetryIntervalMax}"),
            ("CrnpClient spec.retry.interval", client.Properties["retry"].Properties["interval"], $"at most {SettingLimits.RetryIntervalMax}"),
            ("CrnpServer spec.clientTimeout", server.Properties["clientTimeout"], $"{SettingLimits.ClientTimeoutMin} to {SettingLimits.ClientTimeoutMax}"),
        };
        foreach (var (where, field, bounds) in durations)
        {
            Assert.True(field.Pattern == Durations.Pattern, $"{where}: pattern {field.Pattern}, Durations.Pattern is {Durations.Pattern}");
            Assert.True(field.Description.Contains(bounds, StringComparison.Ordinal), $"{where}: the description does not say '{bounds}': {field.Description}");
        }
    }

    [Fact]
    public void TheSchemasDurationPattern_AcceptsWhatTheServicesRead_AndNothingElse()
    {
        var pattern = new System.Text.RegularExpressions.Regex(Durations.SettingPattern);
        foreach (var text in new[] { "30s", "1m30s", "500ms", "1.5h", "0s", "00:00:30", "1.00:00:00", "00:00:00.010" })
        {
            Assert.True(pattern.IsMatch(text), text);
            Assert.True(Durations.TryParseSetting(text, out _), text);
        }
        foreach (var text in new[] { "30", "30 s", "1d", "-1s", "soon", "30s0", "" })
        {
            Assert.False(pattern.IsMatch(text), text);
        }
    }

    [Fact]
    public void EveryDurationInValuesYaml_IsWrittenKubernetesStyle()
    {
        var values = new YamlDotNet.Serialization.Deserializer().Deserialize<Dictionary<object, object>>(File.ReadAllText(Path.Combine(Helm.Chart, "values.yaml")));
        var durations = DurationPaths(ValuesSchema()["properties"]!.AsObject(), "").ToList();
        Assert.NotEmpty(durations);
        foreach (var path in durations)
        {
            object? node = values;
            foreach (var name in path.Split('.'))
            {
                node = node is Dictionary<object, object> map && map.TryGetValue(name, out var child) ? child : null;
            }
            Assert.True(node is string text && Durations.TryParse(text, out _), $"values.yaml {path}: '{node}' is not a Kubernetes-style duration such as 30s");
        }
    }

    private static IEnumerable<string> DurationPaths(JsonObject properties, string prefix)
    {
        foreach (var (name, schema) in properties)
        {
            var path = prefix.Length == 0 ? name : $"{prefix}.{name}";
            if (schema?["$ref"]?.GetValue<string>() == "#/definitions/duration")
            {
                yield return path;
            }
            else if (schema?["properties"] is JsonObject children)
            {
                foreach (var child in DurationPaths(children, path))
                {
                    yield return child;
                }
            }
        }
    }

    private static IEnumerable<(string File, JsonNode Schema)> Schemas()
    {
        yield return (Values, ValuesSchema());
        foreach (var plural in new[] { Servers, Clients })
        {
            yield return (plural, JsonNode.Parse(KubernetesJson.Serialize(Crd(plural)))!);
        }
    }

    private static JsonNode ValuesSchema() => JsonNode.Parse(File.ReadAllText(Path.Combine(Helm.Chart, "values.schema.json")))!;

    private static V1JSONSchemaProps Crd(string plural) =>
        KubernetesYaml.Deserialize<V1CustomResourceDefinition>(File.ReadAllText(Path.Combine(Helm.Chart, "crds", $"{plural}.{CrnpApi.Group}.yaml")))
            .Spec.Versions.Single().Schema.OpenAPIV3Schema;

    /// <summary>Every bound keyword under <paramref name="node"/>, with its path.</summary>
    private static IEnumerable<(string Path, double Value)> Bounds(JsonNode? node, string path)
    {
        static string Join(string path, string name) => path.Length == 0 ? name : $"{path}.{name}";
        if (node is JsonArray array)
        {
            for (var i = 0; i < array.Count; i++)
            {
                foreach (var bound in Bounds(array[i], Join(path, i.ToString(CultureInfo.InvariantCulture))))
                {
                    yield return bound;
                }
            }
        }
        if (node is not JsonObject obj)
        {
            yield break;
        }
        foreach (var (key, child) in obj)
        {
            IEnumerable<(string, double)> inner = key switch
            {
                _ when Keywords.Contains(key) && child is JsonValue value => [(Join(path, key), value.GetValue<double>())],
                "properties" or "definitions" when child is JsonObject children =>
                    children.SelectMany(c => Bounds(c.Value, Join(path, key == "definitions" ? $"#{c.Key}" : c.Key))),
                "items" => Bounds(child, path + "[]"),
                _ => Bounds(child, Join(path, key)),
            };
            foreach (var bound in inner)
            {
                yield return bound;
            }
        }
    }
}
