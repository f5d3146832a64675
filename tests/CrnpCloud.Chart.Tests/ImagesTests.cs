using System.Diagnostics;
using System.Text.Json;
using System.Text.RegularExpressions;
using YamlDotNet.RepresentationModel;

namespace CrnpCloud.Chart.Tests;

/// <summary>
/// The images are built from one container definition (services/Container.props) by
/// charts/tools/build-images.sh, which skaffold.yaml calls; they are kept consistent with the projects
/// and the chart here. tests/CrnpCloud.EndToEnd.Tests/ImageTests.cs builds and runs them.
/// </summary>
public sealed partial class ImagesTests
{
    private static readonly string BuildScript = Path.Combine(Helm.RepoRoot, "charts", "tools", "build-images.sh");

    private static YamlMappingNode Skaffold()
    {
        var yaml = new YamlStream();
        using var reader = new StreamReader(Path.Combine(Helm.RepoRoot, "skaffold.yaml"));
        yaml.Load(reader);
        return (YamlMappingNode)yaml.Documents[0].RootNode;
    }

    private static List<YamlMappingNode> Artifacts() =>
        ((YamlSequenceNode)((YamlMappingNode)Skaffold()["build"])["artifacts"]).Cast<YamlMappingNode>().ToList();

    private static string Scalar(YamlNode node, string key) => ((YamlScalarNode)((YamlMappingNode)node)[key]).Value!;

    /// <summary>edge, ingest, ... as charts/crnpcloud/values.yaml names them (images.NAME.repository).</summary>
    private static List<string> ChartImages() =>
        ChartImage().Matches(File.ReadAllText(Path.Combine(Helm.Chart, "values.yaml"))).Select(m => m.Groups[1].Value).Order().ToList();

    /// <summary>The image -> project table of build-images.sh (<c>[edge]=services/CrnpCloud.Edge</c>).</summary>
    private static Dictionary<string, string> ScriptProjects() =>
        ScriptProject().Matches(File.ReadAllText(BuildScript)).ToDictionary(m => m.Groups[1].Value, m => m.Groups[2].Value);

    [Fact]
    public void EveryImageTheChartUses_IsBuiltByTheScript_FromAProjectThatExists()
    {
        var projects = ScriptProjects();
        Assert.Equal(ChartImages(), projects.Keys.Order().ToList());
        foreach (var (image, project) in projects)
        {
            var csproj = Path.Combine(Helm.RepoRoot, project, Path.GetFileName(project) + ".csproj");
            Assert.True(File.Exists(csproj), $"build-images.sh builds crnpcloud-{image} from {project}, which has no {Path.GetFileName(csproj)}");
        }
    }

    [Fact]
    public void SkaffoldBuilds_ExactlyTheChartsImages_ThroughTheScript()
    {
        var artifacts = Artifacts();
        var projects = ScriptProjects();
        Assert.Equal(ChartImages(), artifacts.Select(a => Scalar(a, "image").Replace("crnpcloud-", "", StringComparison.Ordinal)).Order().ToList());
        foreach (var artifact in artifacts)
        {
            var image = Scalar(artifact, "image");
            Assert.False(((YamlMappingNode)artifact).Children.ContainsKey("docker"), $"{image}: built from a Dockerfile");
            var custom = (YamlMappingNode)artifact["custom"];
            Assert.Equal("bash charts/tools/build-images.sh --skaffold", Scalar(custom, "buildCommand"));
            Assert.Equal(".", Scalar(artifact, "context"));
            var paths = ((YamlSequenceNode)((YamlMappingNode)custom["dependencies"])["paths"]).Cast<YamlScalarNode>().Select(p => p.Value!).ToList();
            Assert.Contains(projects[image.Replace("crnpcloud-", "", StringComparison.Ordinal)], paths);
            Assert.Contains("VERSION", paths);
        }

        var release = (YamlMappingNode)((YamlSequenceNode)((YamlMappingNode)((YamlMappingNode)Skaffold()["deploy"])["helm"])["releases"])[0];
        Assert.Equal("charts/crnpcloud", ((YamlScalarNode)release["chartPath"]).Value);
        var templates = ((YamlMappingNode)release["setValueTemplates"]).Children.Keys.Cast<YamlScalarNode>().Select(k => k.Value!).ToList();
        foreach (var component in ChartImages())
        {
            Assert.Contains($"images.{component}.repository", templates);
            Assert.Contains($"images.{component}.tag", templates);
        }
    }

    [Fact]
    public void NoDockerfile_TheContainerDefinitionIsTheOnlyOne()
    {
        var dockerfiles = new[] { "services", "operator" }
            .SelectMany(d => Directory.GetFiles(Path.Combine(Helm.RepoRoot, d), "Dockerfile*", SearchOption.AllDirectories))
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}", StringComparison.Ordinal)
                && !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal))
            .ToList();
        Assert.Empty(dockerfiles);
    }

    /// <summary>MSBuild's own evaluation of each project: the definition applies, not merely a file that exists.</summary>
    [Fact]
    public void EveryImageProject_CarriesTheContainerDefinition_WithANumericNonRootUser()
    {
        foreach (var (image, project) in ScriptProjects())
        {
            using var evaluated = Evaluate(project);
            var properties = evaluated.RootElement.GetProperty("Properties");
            Assert.Equal($"crnpcloud-{image}", properties.GetProperty("ContainerRepository").GetString());
            var user = properties.GetProperty("ContainerUser").GetString();
            Assert.True(int.TryParse(user, out var uid) && uid > 0, $"{project}: ContainerUser '{user}' is not a numeric non-root uid");
            Assert.Equal(1654, uid); // the chart's runAsUser
            Assert.Equal("Entrypoint", properties.GetProperty("ContainerAppCommandInstruction").GetString());
            Assert.Equal("true", properties.GetProperty("PublishRepositoryUrl").GetString());
            Assert.Equal("https://github.com/crnpcloud/crnpcloud", properties.GetProperty("RepositoryUrl").GetString());

            var environment = evaluated.RootElement.GetProperty("Items").GetProperty("ContainerEnvironmentVariable").EnumerateArray()
                .ToDictionary(e => e.GetProperty("Identity").GetString()!, e => e.GetProperty("Value").GetString());
            Assert.Equal("", environment["ASPNETCORE_HTTP_PORTS"]);
            Assert.Equal("", environment["ASPNETCORE_URLS"]);
            Assert.Equal("0", environment["DOTNET_gcServer"]);
        }
    }

    private static JsonDocument Evaluate(string project)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false, WorkingDirectory = Helm.RepoRoot };
        foreach (var argument in new[]
        {
            "msbuild", project, "-nologo", "-getProperty:ContainerRepository", "-getProperty:ContainerUser",
            "-getProperty:ContainerAppCommandInstruction", "-getProperty:PublishRepositoryUrl", "-getProperty:RepositoryUrl",
            "-getItem:ContainerEnvironmentVariable",
        })
        {
            start.ArgumentList.Add(argument);
        }
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEndAsync();
        Assert.True(process.WaitForExit(TimeSpan.FromMinutes(2)), $"dotnet msbuild {project} did not finish");
        Assert.True(process.ExitCode == 0, $"dotnet msbuild {project}: {output.Result}{errors.Result}");
        return JsonDocument.Parse(output.Result);
    }

    [GeneratedRegex(@"^  (\w+): \{ repository: ghcr\.io/crnpcloud/crnpcloud-\w+", RegexOptions.Multiline)]
    private static partial Regex ChartImage();

    [GeneratedRegex(@"^\s*\[(\w+)\]=(\S+)$", RegexOptions.Multiline)]
    private static partial Regex ScriptProject();
}
