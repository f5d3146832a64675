using System.Text.RegularExpressions;
using YamlDotNet.RepresentationModel;

namespace CrnpCloud.Chart.Tests;

/// <summary>Dockerfiles and skaffold.yaml cannot run here (no Docker engine); they are kept consistent with the projects and the chart.</summary>
public sealed partial class ImagesTests
{
    private static YamlMappingNode Skaffold()
    {
        var yaml = new YamlStream();
        using var reader = new StreamReader(Path.Combine(Helm.RepoRoot, "skaffold.yaml"));
        yaml.Load(reader);
        return (YamlMappingNode)yaml.Documents[0].RootNode;
    }

    private static IEnumerable<(string Image, string Dockerfile)> Artifacts() =>
        ((YamlSequenceNode)((YamlMappingNode)Skaffold()["build"])["artifacts"]).Cast<YamlMappingNode>()
            .Select(a => (((YamlScalarNode)a["image"]).Value!, ((YamlScalarNode)((YamlMappingNode)a["docker"])["dockerfile"]).Value!));

    [Fact]
    public void EveryDockerfile_PublishesAProjectThatExists_AndRunsAsNonRoot()
    {
        var dockerfiles = Directory.GetFiles(Path.Combine(Helm.RepoRoot, "services"), "Dockerfile", SearchOption.AllDirectories)
            .Concat(Directory.GetFiles(Path.Combine(Helm.RepoRoot, "operator"), "Dockerfile", SearchOption.AllDirectories))
            .ToList();
        Assert.Equal(4, dockerfiles.Count);
        foreach (var file in dockerfiles)
        {
            var text = File.ReadAllText(file);
            var publish = Publish().Match(text);
            Assert.True(publish.Success, $"{file}: no dotnet publish of a .csproj");
            Assert.True(File.Exists(Path.Combine(Helm.RepoRoot, publish.Groups[1].Value)), $"{file}: {publish.Groups[1].Value} does not exist");
            var project = Path.GetFileNameWithoutExtension(publish.Groups[1].Value);
            Assert.Contains($"\"{project}.dll\"", text, StringComparison.Ordinal);
            Assert.Contains("FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build", text, StringComparison.Ordinal);
            Assert.Contains("FROM mcr.microsoft.com/dotnet/aspnet:10.0", text, StringComparison.Ordinal);
            Assert.Matches(@"(?m)^USER \$APP_UID$", text);
        }
    }

    [Fact]
    public void EveryImageSkaffoldBuilds_IsOneTheChartUses_AndTheOtherWayRound()
    {
        var artifacts = Artifacts().ToList();
        foreach (var (_, dockerfile) in artifacts)
        {
            Assert.True(File.Exists(Path.Combine(Helm.RepoRoot, dockerfile)), $"skaffold builds from {dockerfile}, which does not exist");
        }

        var values = File.ReadAllText(Path.Combine(Helm.Chart, "values.yaml"));
        var chartImages = ChartImage().Matches(values).Select(m => m.Groups[1].Value).Order().ToList();
        var built = artifacts.Select(a => a.Image.Replace("crnpcloud-", "", StringComparison.Ordinal)).Order().ToList();
        Assert.Equal(chartImages, built);

        var release = (YamlMappingNode)((YamlSequenceNode)((YamlMappingNode)((YamlMappingNode)Skaffold()["deploy"])["helm"])["releases"])[0];
        Assert.Equal("charts/crnpcloud", ((YamlScalarNode)release["chartPath"]).Value);
        var templates = ((YamlMappingNode)release["setValueTemplates"]).Children.Keys.Cast<YamlScalarNode>().Select(k => k.Value!).ToList();
        foreach (var (image, _) in artifacts)
        {
            var component = image.Replace("crnpcloud-", "", StringComparison.Ordinal);
            Assert.Contains($"images.{component}.repository", templates);
            Assert.Contains($"images.{component}.tag", templates);
        }
    }

    [GeneratedRegex(@"dotnet publish (\S+\.csproj)")]
    private static partial Regex Publish();

    [GeneratedRegex(@"^  (\w+): \{ repository: ghcr\.io/crnpcloud/crnpcloud-\w+", RegexOptions.Multiline)]
    private static partial Regex ChartImage();
}
