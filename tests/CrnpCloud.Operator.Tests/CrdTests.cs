using System.Reflection;
using System.Text.Json.Serialization;
using CrnpCloud.Core;
using k8s;
using k8s.Models;

namespace CrnpCloud.Operator.Tests;

public sealed class CrdTests
{
    private static V1CustomResourceDefinition Load(string plural) =>
        KubernetesYaml.Deserialize<V1CustomResourceDefinition>(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "crds", $"{plural}.{CrnpApi.Group}.yaml")));

    [Theory]
    [InlineData(CrnpApi.ClientPlural, CrnpApi.ClientKind, typeof(CrnpClientSpec), typeof(CrnpClientStatus))]
    [InlineData(CrnpApi.ServerPlural, CrnpApi.ServerKind, typeof(CrnpServerSpec), typeof(CrnpServerStatus))]
    public void TheChartsCrd_IsTheOneTheOperatorUses_AndEveryFieldIsDescribed(string plural, string kind, Type spec, Type status)
    {
        var crd = Load(plural);
        Assert.Equal($"{plural}.{CrnpApi.Group}", crd.Metadata.Name);
        Assert.Equal(CrnpApi.Group, crd.Spec.Group);
        Assert.Equal(plural, crd.Spec.Names.Plural);
        Assert.Equal(kind, crd.Spec.Names.Kind);
        Assert.NotEmpty(crd.Spec.Names.ShortNames);
        var version = Assert.Single(crd.Spec.Versions);
        Assert.Equal(CrnpApi.Version, version.Name);
        Assert.NotNull(version.Subresources?.Status);
        Assert.NotEmpty(version.AdditionalPrinterColumns);

        var schema = version.Schema.OpenAPIV3Schema;
        var undescribed = new List<string>();
        Walk(schema, "", undescribed);
        Assert.Empty(undescribed);

        // The schema's fields are exactly the model's (a field added on one side only fails here).
        Assert.Equal(JsonNames(spec), schema.Properties["spec"].Properties.Keys.Order());
        Assert.Equal(JsonNames(status), schema.Properties["status"].Properties.Keys.Order());
    }

    [Fact]
    public void DurationFields_UseTheOperatorsPattern()
    {
        var client = Load(CrnpApi.ClientPlural).Spec.Versions[0].Schema.OpenAPIV3Schema.Properties["spec"];
        var server = Load(CrnpApi.ServerPlural).Spec.Versions[0].Schema.OpenAPIV3Schema.Properties["spec"];
        Assert.Equal(Durations.Pattern, client.Properties["retry"].Properties["interval"].Pattern);
        Assert.Equal(Durations.Pattern, server.Properties["retryInterval"].Pattern);
        Assert.Equal(Durations.Pattern, server.Properties["clientTimeout"].Pattern);
    }

    private static void Walk(V1JSONSchemaProps schema, string path, List<string> undescribed)
    {
        if (string.IsNullOrWhiteSpace(schema.Description))
        {
            undescribed.Add(path.Length == 0 ? "(root)" : path);
        }
        foreach (var (name, child) in schema.Properties ?? new Dictionary<string, V1JSONSchemaProps>())
        {
            Walk(child, $"{path}.{name}", undescribed);
        }
        if (schema.Items is V1JSONSchemaProps items)
        {
            Walk(items, path + "[]", undescribed);
        }
    }

    private static IEnumerable<string> JsonNames(Type type) =>
        type.GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Select(p => p.GetCustomAttribute<JsonPropertyNameAttribute>()!.Name)
            .Order();
}
