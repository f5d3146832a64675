using System.Text.RegularExpressions;

namespace CrnpCloud.Chart.Tests;

/// <summary>The chart's version and appVersion come from the one version source, <c>VERSION</c>.</summary>
public sealed partial class VersionTests
{
    [Fact]
    public void ChartVersionAndAppVersion_AreTheRepositoryVersion()
    {
        var expected = File.ReadAllText(Path.Combine(Helm.RepoRoot, "VERSION")).Trim();
        var chart = File.ReadAllText(Path.Combine(Helm.RepoRoot, "charts", "crnpcloud", "Chart.yaml"));

        Assert.Equal(expected, ChartField("version").Match(chart).Groups[1].Value);
        Assert.Equal(expected, ChartField("appVersion").Match(chart).Groups[1].Value);
    }

    [Fact]
    public void Version_IsSemVer()
    {
        var version = File.ReadAllText(Path.Combine(Helm.RepoRoot, "VERSION")).Trim();
        Assert.Matches(@"^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$", version);
    }

    private static Regex ChartField(string name) => new($"^{name}:\\s*\"?([^\"\\s]+)\"?\\s*$", RegexOptions.Multiline);
}
