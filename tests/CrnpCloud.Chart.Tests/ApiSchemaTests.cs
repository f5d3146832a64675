using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using k8s;
using k8s.Models;

namespace CrnpCloud.Chart.Tests;

/// <summary>
/// Every object the chart renders (defaults and each ci/*.yaml), the CRD examples and the CrnpClient the
/// install notes show validate against real API schemas, strictly (<see cref="KubeSchema"/>): built-in kinds
/// against the Kubernetes models of the KubernetesClient package, CrnpClient/CrnpServer against the chart's
/// CRDs, ServiceMonitor/PrometheusRule against the subsets in Schemas/. And each check is shown to fail.
/// </summary>
public sealed partial class ApiSchemaTests
{
    private const string Defaults = "(defaults)";

    public static TheoryData<string> Renderings() => [Defaults, .. Helm.CiValues.Select(f => Path.GetFileName(f))];

    private static readonly Lazy<Dictionary<string, V1CustomResourceDefinition>> Crds = new(() =>
        Directory.GetFiles(Path.Combine(Helm.Chart, "crds"), "*.yaml")
            .Select(f => KubernetesYaml.Deserialize<V1CustomResourceDefinition>(File.ReadAllText(f)))
            .ToDictionary(c => c.Spec.Group + "|" + c.Spec.Names.Kind));

    private static List<JsonObject> Rendered(string values, params string[] sets) =>
        [.. Helm.Documents(Helm.RenderText(values == Defaults ? null : Path.Combine(Helm.Chart, "ci", values), sets)).Select(KubeSchema.ToJson)];

    /// <summary>Errors of one object against the schema of its kind; a kind without a schema is an error.</summary>
    private static List<string> Validate(JsonObject obj)
    {
        var apiVersion = obj["apiVersion"]?.GetValue<string>() ?? "";
        var kind = obj["kind"]?.GetValue<string>() ?? "";
        var group = apiVersion.Contains('/', StringComparison.Ordinal) ? apiVersion[..apiVersion.IndexOf('/', StringComparison.Ordinal)] : "";
        if (Crds.Value.TryGetValue(group + "|" + kind, out var crd))
        {
            return KubeSchema.ValidateCustom(obj, crd);
        }
        if (group == "monitoring.coreos.com")
        {
            var file = Path.Combine(Helm.RepoRoot, "tests", "CrnpCloud.Chart.Tests", "Schemas", $"monitoring.coreos.com_{apiVersion[(group.Length + 1)..]}_{kind}.subset.schema.json");
            return File.Exists(file) ? KubeSchema.ValidateAgainst(obj, JsonNode.Parse(File.ReadAllText(file))!) : [$"{apiVersion}/{kind}: no schema"];
        }
        return KubeSchema.ValidateBuiltIn(obj);
    }

    [Fact]
    public void TheModels_AreOfACurrentKubernetesRelease()
    {
        var version = KubeSchema.ModelsKubernetesVersion();
        var match = Regex.Match(version, @"^v1\.([0-9]+)\.");
        Assert.True(match.Success && int.Parse(match.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) >= 30, $"models of Kubernetes {version}");
        // And of at least 1.34: resource.k8s.io/v1 (DeviceClass) became GA there.
        Assert.True(KubeSchema.IsBuiltIn("resource.k8s.io/v1", "DeviceClass"));
        Assert.False(KubeSchema.IsBuiltIn("policy/v1beta1", "PodDisruptionBudget"), "policy/v1beta1 was removed in 1.25");
    }

    [Theory]
    [MemberData(nameof(Renderings))]
    public void EveryRenderedObject_ValidatesAgainstTheApiSchemaOfItsKind(string values)
    {
        var objects = Rendered(values);
        Assert.True(objects.Count > 15, $"{values}: only {objects.Count} objects");
        var errors = objects.SelectMany(Validate).ToList();
        Assert.True(errors.Count == 0, $"{values}:\n{string.Join("\n", errors)}");
        if (values == "metrics-values.yaml")
        {
            Assert.Contains(objects, o => o["kind"]?.GetValue<string>() == "ServiceMonitor");
            Assert.Contains(objects, o => o["kind"]?.GetValue<string>() == "PrometheusRule");
        }
    }

    [Theory]
    [InlineData("spec.template.spec.containers.0", "imagePullPolicyy", "\"Always\"", "imagePullPolicyy")]
    [InlineData("spec.template.spec", "securityContex", "{}", "securityContex")]
    [InlineData("spec", "replica", "2", "replica")]
    [InlineData("metadata", "label", "{}", "label")]
    public void AnUnknownField_Fails(string path, string field, string json, string expected)
    {
        var edge = EdgeDeployment();
        ((JsonObject)At(edge, path))[field] = JsonNode.Parse(json);
        var errors = Validate(edge);
        Assert.Contains(errors, e => e.Contains(expected, StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("spec", "replicas", "\"two\"")]
    [InlineData("spec", "replicas", "\"2\"")]
    [InlineData("spec.template.spec.containers.0.ports.0", "containerPort", "\"9444\"")]
    [InlineData("spec.template.spec.containers.0.securityContext", "readOnlyRootFilesystem", "\"true\"")]
    [InlineData("spec.template.spec.containers.0", "args", "\"--x\"")]
    [InlineData("spec.template.metadata.labels", "app.kubernetes.io/version", "1")]
    public void AWrongType_Fails(string path, string field, string json)
    {
        var edge = EdgeDeployment();
        Assert.Empty(Validate(edge));
        ((JsonObject)At(edge, path))[field] = JsonNode.Parse(json);
        Assert.NotEmpty(Validate(edge));
    }

    [Fact]
    public void QuotedScalarsStayStrings_AndPlainOnesAreTyped_AsAnApiServerReadsYaml()
    {
        var obj = KubeSchema.ToJson("a: \"1\"\nb: 1\nc: 'true'\nd: true\ne: 0.1.0\nf:\ng: 1.5\n");
        Assert.Equal("{\"a\":\"1\",\"b\":1,\"c\":\"true\",\"d\":true,\"e\":\"0.1.0\",\"f\":null,\"g\":1.5}", obj.ToJsonString());
    }

    [Fact]
    public void AKindTheApiDoesNotServe_Fails()
    {
        var pdb = Rendered(Defaults).Single(o => o["kind"]?.GetValue<string>() == "PodDisruptionBudget");
        pdb["apiVersion"] = "policy/v1beta1";
        Assert.Contains(Validate(pdb), e => e.Contains("no such built-in kind", StringComparison.Ordinal));
    }

    public static TheoryData<string> Examples() => [.. Directory.GetFiles(Path.Combine(Helm.Chart, "examples"), "*.yaml").Select(f => Path.GetFileName(f)).Order(StringComparer.Ordinal)];

    [Theory]
    [MemberData(nameof(Examples))]
    public void EveryExample_ValidatesAgainstItsCrd(string file)
    {
        var obj = KubeSchema.ToJson(File.ReadAllText(Path.Combine(Helm.Chart, "examples", file)));
        Assert.Equal("crnp.cloud/v1alpha1", obj["apiVersion"]?.GetValue<string>());
        var errors = Validate(obj);
        Assert.True(errors.Count == 0, string.Join("\n", errors));
    }

    [Fact]
    public void TheCrnpClientTheNotesShow_IsTheExample_AndValidates()
    {
        var notes = Helm.Notes();
        var shown = NotesYaml().Match(notes);
        Assert.True(shown.Success, notes);
        var yaml = string.Join('\n', shown.Groups[1].Value.Split('\n').Select(l => l.Length >= 5 ? l[5..] : l.TrimStart()));
        var obj = KubeSchema.ToJson(yaml);
        Assert.Empty(Validate(obj));
        Assert.Equal(KubeSchema.ToJson(File.ReadAllText(Path.Combine(Helm.Chart, "examples", "crnpclient.yaml"))).ToJsonString(), obj.ToJsonString());
    }

    [Theory]
    [InlineData("spec.port", "\"18888\"", "type")]
    [InlineData("spec.port", "70000", "maximum")]
    [InlineData("spec.adress", "\"10.0.0.1\"", "/spec/adress: : All values fail against the false schema")]
    [InlineData("spec.events", "[]", "minItems")]
    [InlineData("spec.events.0.class", "\"\"", "minLength")]
    [InlineData("spec.events.0.nvpair", "[]", "/spec/events/0/nvpair")]
    [InlineData("metadata.nmae", "\"x\"", "nmae")]
    public void ABadCrnpClient_Fails(string path, string json, string expected)
    {
        var obj = KubeSchema.ToJson(File.ReadAllText(Path.Combine(Helm.Chart, "examples", "crnpclient.yaml")));
        var parent = path[..path.LastIndexOf('.')];
        ((JsonObject)At(obj, parent))[path[(path.LastIndexOf('.') + 1)..]] = JsonNode.Parse(json);
        var errors = Validate(obj);
        Assert.True(errors.Any(e => e.Contains(expected, StringComparison.Ordinal)), $"expected {expected} among: {string.Join("; ", errors)}");
    }

    [Theory]
    [InlineData("retryInterval", "\"30\"", "pattern")]
    [InlineData("retryCount", "\"5\"", "type")]
    [InlineData("allowHost", "[\"LOCAL\"]", "/spec/allowHost")]
    public void ABadCrnpServer_Fails(string field, string json, string expected)
    {
        // The chart's own CrnpServer, with operator.server.spec as ci/loadbalancer-values.yaml sets it.
        var server = Rendered("loadbalancer-values.yaml").Single(o => o["kind"]?.GetValue<string>() == "CrnpServer");
        Assert.Empty(Validate(server));
        ((JsonObject)server["spec"]!)[field] = JsonNode.Parse(json);
        Assert.Contains(Validate(server), e => e.Contains(expected, StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("ServiceMonitor", "spec.endpoints.0", "prot", "\"management\"")]
    [InlineData("ServiceMonitor", "spec.endpoints.0", "interval", "\"30 seconds\"")]
    [InlineData("PrometheusRule", "spec.groups.0.rules.0", "severity", "\"warning\"")]
    [InlineData("PrometheusRule", "spec.groups.0.rules.0", "for", "10")]
    public void ABadPrometheusOperatorObject_Fails(string kind, string path, string field, string json)
    {
        var obj = Rendered("metrics-values.yaml").Single(o => o["kind"]?.GetValue<string>() == kind);
        Assert.Empty(Validate(obj));
        ((JsonObject)At(obj, path))[field] = JsonNode.Parse(json);
        Assert.NotEmpty(Validate(obj));
    }

    private static JsonObject EdgeDeployment() =>
        Rendered(Defaults).Single(o => o["kind"]?.GetValue<string>() == "Deployment" && o["metadata"]?["name"]?.GetValue<string>() == "crnpcloud-edge");

    private static JsonNode At(JsonNode node, string path) =>
        path.Split('.').Aggregate(node, (n, step) => int.TryParse(step, out var i) ? n[i]! : n[step]!);

    [GeneratedRegex(@"kubectl apply -f - <<'YAML'\n(.*?)\n\s*YAML\n", RegexOptions.Singleline)]
    private static partial Regex NotesYaml();
}
