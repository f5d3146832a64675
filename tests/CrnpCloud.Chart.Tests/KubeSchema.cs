using System.Globalization;
using System.Reflection;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using System.Text.RegularExpressions;
using Json.Schema;
using k8s;
using k8s.Models;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace CrnpCloud.Chart.Tests;

/// <summary>
/// Checks rendered objects against Kubernetes API schemas, strictly: an unknown field or a value of the wrong
/// type is an error (as `kubectl apply` with its default strict field validation reports it).
/// Built-in kinds: the typed models of the KubernetesClient package (generated from the Kubernetes OpenAPI;
/// see <see cref="ModelsKubernetesVersion"/>), deserialized with unmapped members disallowed and no
/// number-from-string leniency. Custom resources: the openAPIV3Schema of their CustomResourceDefinition,
/// with every object that lists properties closed (additionalProperties false, unless the CRD says
/// x-kubernetes-preserve-unknown-fields), evaluated by JsonSchema.Net.
/// </summary>
public static partial class KubeSchema
{
    /// <summary>Built-in kinds by "apiVersion/kind", from the models' [KubernetesEntity] attributes.</summary>
    private static readonly Lazy<Dictionary<string, Type>> Models = new(() =>
        typeof(V1Pod).Assembly.GetTypes()
            .Select(t => (Type: t, Entity: t.GetCustomAttribute<KubernetesEntityAttribute>()))
            .Where(x => x.Entity is { Kind.Length: > 0 } && !x.Entity.Kind.EndsWith("List", StringComparison.Ordinal))
            .GroupBy(x => $"{(x.Entity!.Group.Length == 0 ? "" : x.Entity.Group + "/")}{x.Entity.ApiVersion}/{x.Entity.Kind}")
            .ToDictionary(g => g.Key, g => g.First().Type));

    private static readonly Lazy<JsonSerializerOptions> Strict = new(() =>
    {
        JsonSerializerOptions? library = null;
        KubernetesJson.AddJsonOptions(o => library = o);
        return new JsonSerializerOptions(library!)
        {
            UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
            NumberHandling = JsonNumberHandling.Strict,
            PropertyNameCaseInsensitive = false,
        };
    });

    /// <summary>
    /// The Kubernetes release the models were generated from: the package stamps the OpenAPI version
    /// ("v1.37.0" in 21.0.8) into the assembly next to its git commit.
    /// </summary>
    public static string ModelsKubernetesVersion()
    {
        var bytes = File.ReadAllBytes(typeof(V1Pod).Assembly.Location);
        // User strings are UTF-16 at an offset of either parity.
        var match = new[] { bytes, bytes[1..] }.Select(b => KubernetesVersionStamp().Match(System.Text.Encoding.Unicode.GetString(b)))
            .FirstOrDefault(m => m.Success);
        return match?.Value ?? "unknown";
    }

    public static bool IsBuiltIn(string apiVersion, string kind) => Models.Value.ContainsKey($"{apiVersion}/{kind}");

    /// <summary>Errors of one object against its built-in model; empty when it validates.</summary>
    public static List<string> ValidateBuiltIn(JsonObject obj)
    {
        var key = $"{obj["apiVersion"]}/{obj["kind"]}";
        if (!Models.Value.TryGetValue(key, out var type))
        {
            return [$"{key}: no such built-in kind in Kubernetes {ModelsKubernetesVersion()}"];
        }
        try
        {
            _ = JsonSerializer.Deserialize(obj.ToJsonString(), type, Strict.Value);
            return [];
        }
        catch (JsonException e)
        {
            return [$"{key} {obj["metadata"]?["name"]}: {e.Message}"];
        }
    }

    /// <summary>Errors of one custom resource against its CRD's schema (closed as described above).</summary>
    public static List<string> ValidateCustom(JsonObject obj, V1CustomResourceDefinition crd)
    {
        var version = crd.Spec.Versions.Single(v => $"{crd.Spec.Group}/{v.Name}" == obj["apiVersion"]?.GetValue<string>());
        var schemaJson = Close(JsonNode.Parse(KubernetesJson.Serialize(version.Schema.OpenAPIV3Schema))!);
        var errors = ValidateAgainst(obj, schemaJson);
        // metadata is "type: object" in every CRD; the API server checks it as ObjectMeta.
        if (obj["metadata"] is JsonObject meta)
        {
            try
            {
                _ = JsonSerializer.Deserialize<V1ObjectMeta>(meta.ToJsonString(), Strict.Value);
            }
            catch (JsonException e)
            {
                errors.Add($"metadata: {e.Message}");
            }
        }
        return errors;
    }

    /// <summary>Errors of a JSON value against a JSON Schema (draft 2020-12 unless it says otherwise).</summary>
    public static List<string> ValidateAgainst(JsonNode instance, JsonNode schemaJson)
    {
        var schema = JsonSchema.FromText(schemaJson.ToJsonString());
        using var document = JsonDocument.Parse(instance.ToJsonString());
        var result = schema.Evaluate(document.RootElement, new EvaluationOptions { OutputFormat = OutputFormat.List });
        return result.IsValid
            ? []
            : [.. (result.Details ?? []).Where(d => d.Errors is { Count: > 0 })
                .SelectMany(d => d.Errors!.Select(e => $"{d.InstanceLocation}: {e.Key}: {e.Value}"))
                .DefaultIfEmpty("invalid")];
    }

    /// <summary>Adds additionalProperties: false to every schema object that lists properties (an API server rejects unknown fields under strict field validation).</summary>
    public static JsonNode Close(JsonNode schema)
    {
        if (schema is JsonObject o)
        {
            foreach (var (_, child) in o.ToList())
            {
                if (child is not null)
                {
                    Close(child);
                }
            }
            var preserve = o["x-kubernetes-preserve-unknown-fields"]?.GetValue<bool>() == true;
            if (o.ContainsKey("properties") && !o.ContainsKey("additionalProperties") && !preserve)
            {
                o["additionalProperties"] = false;
            }
        }
        else if (schema is JsonArray a)
        {
            foreach (var child in a)
            {
                if (child is not null)
                {
                    Close(child);
                }
            }
        }
        return schema;
    }

    /// <summary>
    /// YAML to JSON with the YAML 1.2 core schema: quoted scalars are strings; plain ones are null, booleans,
    /// integers or floats when they look like them, strings otherwise (so a wrong type stays wrong).
    /// </summary>
    public static JsonNode? ToJson(YamlNode node) => node switch
    {
        YamlMappingNode map => new JsonObject(map.Children.Select(kv => KeyValuePair.Create(((YamlScalarNode)kv.Key).Value!, ToJson(kv.Value)))),
        YamlSequenceNode seq => new JsonArray([.. seq.Children.Select(ToJson)]),
        YamlScalarNode s when s.Style is ScalarStyle.Plain => Plain(s.Value ?? ""),
        YamlScalarNode s => JsonValue.Create(s.Value ?? ""),
        _ => throw new InvalidOperationException($"unexpected YAML node {node.NodeType}"),
    };

    public static JsonObject ToJson(string yaml)
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(yaml));
        return (JsonObject)ToJson(stream.Documents.Single().RootNode)!;
    }

    private static JsonNode? Plain(string value)
    {
        if (value is "" or "~" or "null" or "Null" or "NULL")
        {
            return null;
        }
        if (value is "true" or "True" or "TRUE" or "false" or "False" or "FALSE")
        {
            return JsonValue.Create(value.Equals("true", StringComparison.OrdinalIgnoreCase));
        }
        if (IntegerLike().IsMatch(value) && long.TryParse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var l))
        {
            return JsonValue.Create(l);
        }
        if (FloatLike().IsMatch(value) && double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var d))
        {
            return JsonValue.Create(d);
        }
        return JsonValue.Create(value);
    }

    [GeneratedRegex(@"^[-+]?[0-9]+$")]
    private static partial Regex IntegerLike();

    [GeneratedRegex(@"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$")]
    private static partial Regex FloatLike();

    [GeneratedRegex(@"\bv1\.[0-9]{2}\.[0-9]+\b")]
    private static partial Regex KubernetesVersionStamp();
}
