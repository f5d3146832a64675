using System.Text.RegularExpressions;
using k8s.Models;

namespace CrnpCloud.Chart.Tests;

/// <summary>
/// Every <c>helm install</c> line the READMEs tell a platform engineer to run renders with this chart
/// (the release's OCI reference stands for this checkout's chart at the same version), and the
/// CrnpClient example README step 3 applies is the one the chart ships.
/// </summary>
public sealed partial class ReadmeCommandTests
{
    public static TheoryData<string, string> InstallCommands()
    {
        var data = new TheoryData<string, string>();
        foreach (var readme in new[] { "README.md", Path.Combine("charts", "README.md") })
        {
            var text = File.ReadAllText(Path.Combine(Helm.RepoRoot, readme)).Replace("\\\n", " ", StringComparison.Ordinal);
            foreach (Match line in HelmInstall().Matches(text))
            {
                data.Add(readme, line.Value.Trim());
            }
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(InstallCommands))]
    public void HelmInstall_FromTheReadme_Renders(string readme, string command)
    {
        var words = command.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        Assert.True(words.Length > 3, $"{readme}: {command}");
        var chart = words[3];
        Assert.True(chart == "charts/crnpcloud" || chart == "oci://ghcr.io/crnpcloud/charts/crnpcloud", $"{readme}: unknown chart {chart}");
        string? valuesFile = null;
        var sets = new List<string>();
        for (var i = 4; i < words.Length; i++)
        {
            switch (words[i])
            {
                case "-f" or "--values":
                    valuesFile = Path.Combine(Helm.RepoRoot, words[++i]);
                    Assert.True(File.Exists(valuesFile), $"{readme}: {words[i]} does not exist");
                    break;
                case "--set":
                    sets.Add(words[++i]);
                    break;
                case "--version":
                    Assert.Equal(File.ReadAllText(Path.Combine(Helm.RepoRoot, "VERSION")).Trim(), words[++i]);
                    break;
                case "-n" or "--namespace":
                    i++;
                    break;
                case "--create-namespace":
                    break;
                default:
                    Assert.Fail($"{readme}: '{words[i]}' in '{command}' is not a flag this test knows; teach it");
                    break;
            }
        }
        var objects = Helm.Render(valuesFile, [.. sets]);
        var components = objects.OfType<V1Deployment>().Select(d => d.Metadata.Labels["app.kubernetes.io/component"]).ToHashSet();
        Assert.Superset(new HashSet<string> { "edge", "ingest", "delivery", "operator" }, components);
    }

    [Fact]
    public void TheCrnpClientExample_TheReadmeApplies_IsShipped()
    {
        var readme = File.ReadAllText(Path.Combine(Helm.RepoRoot, "README.md"));
        Assert.Contains("kubectl apply -n my-namespace -f charts/crnpcloud/examples/crnpclient.yaml", readme, StringComparison.Ordinal);
        Assert.True(File.Exists(Path.Combine(Helm.Chart, "examples", "crnpclient.yaml")));
    }

    [GeneratedRegex(@"^helm install [^\n]+", RegexOptions.Multiline)]
    private static partial Regex HelmInstall();
}
