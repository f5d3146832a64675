using CrnpCloud.Operator;
using CrnpCloud.Testing;
using k8s;

namespace CrnpCloud.Chart.Tests;

/// <summary>Real helm, installed (once, cached) by the project's own script, run against charts/crnpcloud.</summary>
public static class Helm
{
    public static string RepoRoot { get; } = ServiceProcess.RepoRoot();

    public static string Chart => Path.Combine(RepoRoot, "charts", "crnpcloud");

    private static readonly Lazy<string> Binary = new(() =>
    {
        var (code, output, errors) = Tool.Run("bash", [Path.Combine(RepoRoot, "charts", "tools", "install-helm.sh")], TimeSpan.FromMinutes(5));
        Assert.True(code == 0, $"install-helm.sh failed: {errors}");
        return output.Trim().Split('\n')[^1];
    });

    public static IEnumerable<string> CiValues =>
        Directory.GetFiles(Path.Combine(Chart, "ci"), "*.yaml").Order(StringComparer.Ordinal);

    public static (int Code, string Output, string Errors) Run(params string[] args) => Tool.Run(Binary.Value, args, TimeSpan.FromMinutes(3));

    /// <summary>
    /// Renders the chart (CRDs included) and returns every object, typed; objects of the Prometheus Operator
    /// (no model in the client library) are left out: <see cref="RenderDocuments"/> has them.
    /// </summary>
    public static List<object> Render(string? valuesFile = null, params string[] sets)
    {
        var types = new Dictionary<string, Type> { [$"{CrnpApi.ApiVersion}/{CrnpApi.ServerKind}"] = typeof(CrnpServer) };
        return [.. Documents(RenderText(valuesFile, sets))
            .Where(doc => !doc.Contains("apiVersion: monitoring.coreos.com/", StringComparison.Ordinal))
            .SelectMany(doc => KubernetesYaml.LoadAllFromString(doc, types))];
    }

    /// <summary>Every rendered object as a YAML tree, whatever its kind.</summary>
    public static List<YamlDotNet.RepresentationModel.YamlMappingNode> RenderDocuments(string? valuesFile = null, params string[] sets) =>
        [.. Documents(RenderText(valuesFile, sets)).Select(doc =>
        {
            var stream = new YamlDotNet.RepresentationModel.YamlStream();
            stream.Load(new StringReader(doc));
            return (YamlDotNet.RepresentationModel.YamlMappingNode)stream.Documents.Single().RootNode;
        })];

    /// <summary>helm separates documents with '---' and may leave some holding only a '# Source' comment.</summary>
    public static IEnumerable<string> Documents(string rendered) =>
        System.Text.RegularExpressions.Regex.Split(rendered, @"^---\s*$", System.Text.RegularExpressions.RegexOptions.Multiline)
            .Where(doc => doc.Split('\n').Any(line => line.StartsWith("kind:", StringComparison.Ordinal)));

    /// <summary>The output of helm template (CRDs included), as text.</summary>
    public static string RenderText(string? valuesFile = null, params string[] sets)
    {
        var (code, output, errors) = Run([.. Template(Chart, valuesFile, sets), "--include-crds"]);
        Assert.True(code == 0, $"helm template failed: {errors}");
        return output;
    }

    /// <summary><c>helm template crnpcloud CHART --namespace crnp-system [-f VALUES] [--set S]...</c></summary>
    private static List<string> Template(string chart, string? valuesFile, string[] sets)
    {
        var args = new List<string> { "template", "crnpcloud", chart, "--namespace", "crnp-system" };
        if (valuesFile is not null)
        {
            args.AddRange(["-f", valuesFile]);
        }
        foreach (var set in sets)
        {
            args.AddRange(["--set", set]);
        }
        return args;
    }

    /// <summary>
    /// The install notes as `helm install` would print them. helm template does not render NOTES.txt
    /// (and helm 3.17's client-only dry-run install still wants a cluster), so a copy of the chart gets one
    /// more template that renders the same named template NOTES.txt includes.
    /// </summary>
    public static string Notes(string? valuesFile = null, params string[] sets)
    {
        var copy = Directory.CreateTempSubdirectory("crnp-notes-");
        try
        {
            CopyDirectory(Chart, copy.FullName);
            File.WriteAllText(Path.Combine(copy.FullName, "templates", "zz-notes-under-test.yaml"),
                "apiVersion: v1\nkind: ConfigMap\nmetadata: { name: notes-under-test }\ndata:\n  notes: {{ include \"crnpcloud.notes\" . | quote }}\n");
            var (code, output, errors) = Run([.. Template(copy.FullName, valuesFile, sets), "--show-only", "templates/zz-notes-under-test.yaml"]);
            Assert.True(code == 0, $"helm template (notes) failed: {errors}");
            return KubernetesYaml.Deserialize<k8s.Models.V1ConfigMap>(output).Data["notes"];
        }
        finally
        {
            copy.Delete(recursive: true);
        }
    }

    private static void CopyDirectory(string from, string to)
    {
        foreach (var dir in Directory.GetDirectories(from, "*", SearchOption.AllDirectories))
        {
            Directory.CreateDirectory(Path.Combine(to, Path.GetRelativePath(from, dir)));
        }
        foreach (var file in Directory.GetFiles(from, "*", SearchOption.AllDirectories))
        {
            File.Copy(file, Path.Combine(to, Path.GetRelativePath(from, file)));
        }
    }
}
