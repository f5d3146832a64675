using System.Diagnostics;
using CrnpCloud.Operator;
using k8s;

namespace CrnpCloud.Chart.Tests;

/// <summary>Real helm, installed (once, cached) by the project's own script, run against charts/crnpcloud.</summary>
public static class Helm
{
    public static string RepoRoot { get; } = FindRoot();

    public static string Chart => Path.Combine(RepoRoot, "charts", "crnpcloud");

    private static readonly Lazy<string> Binary = new(() =>
    {
        var (code, output, errors) = Run("bash", [Path.Combine(RepoRoot, "charts", "tools", "install-helm.sh")]);
        Assert.True(code == 0, $"install-helm.sh failed: {errors}");
        return output.Trim().Split('\n')[^1];
    });

    public static IEnumerable<string> CiValues =>
        Directory.GetFiles(Path.Combine(Chart, "ci"), "*.yaml").Order(StringComparer.Ordinal);

    public static (int Code, string Output, string Errors) Run(params string[] args) => Run(Binary.Value, args);

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
        var args = new List<string> { "template", "crnpcloud", Chart, "--namespace", "crnp-system", "--include-crds" };
        if (valuesFile is not null)
        {
            args.AddRange(["-f", valuesFile]);
        }
        foreach (var set in sets)
        {
            args.AddRange(["--set", set]);
        }
        var (code, output, errors) = Run([.. args]);
        Assert.True(code == 0, $"helm template failed: {errors}");
        return output;
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
            var args = new List<string> { "template", "crnpcloud", copy.FullName, "--namespace", "crnp-system", "--show-only", "templates/zz-notes-under-test.yaml" };
            if (valuesFile is not null)
            {
                args.AddRange(["-f", valuesFile]);
            }
            foreach (var set in sets)
            {
                args.AddRange(["--set", set]);
            }
            var (code, output, errors) = Run([.. args]);
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

    private static (int, string, string) Run(string file, string[] args)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args)
        {
            start.ArgumentList.Add(a);
        }
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        Assert.True(process.WaitForExit(TimeSpan.FromMinutes(3)), $"{file} did not finish");
        return (process.ExitCode, stdout.Result, stderr.Result);
    }

    private static string FindRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "CrnpCloud.sln")))
        {
            dir = dir.Parent;
        }
        return dir?.FullName ?? throw new InvalidOperationException("CrnpCloud.sln not found above " + AppContext.BaseDirectory);
    }
}
