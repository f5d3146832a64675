using System.Text.RegularExpressions;
using k8s.Models;

namespace CrnpCloud.Chart.Tests;

/// <summary>
/// What a release publishes (.github/workflows/release.yml) is what the chart installs: every image the
/// default values name under ghcr.io is one of the four the workflow builds and pushes, under the
/// version in VERSION, in the repository owner's namespace.
/// </summary>
public sealed partial class ReleaseTests
{
    private static readonly string Workflow = File.ReadAllText(Path.Combine(Helm.RepoRoot, ".github", "workflows", "release.yml"));
    private static readonly string Version = File.ReadAllText(Path.Combine(Helm.RepoRoot, "VERSION")).Trim();

    [Fact]
    public void EveryGhcrImageTheChartInstalls_IsOneTheReleasePublishes_UnderTheVersion()
    {
        var owner = HomeOwner().Match(File.ReadAllText(Path.Combine(Helm.Chart, "Chart.yaml"))).Groups[1].Value;
        Assert.Equal("crnpcloud", owner);
        var published = PublishedComponents().Match(Workflow).Groups[1].Value.Split(' ');
        Assert.Equal(["edge", "ingest", "delivery", "operator"], published);

        var images = Helm.Render().OfType<V1Deployment>()
            .SelectMany(d => d.Spec.Template.Spec.Containers.Concat(d.Spec.Template.Spec.InitContainers ?? []))
            .Select(c => c.Image).Distinct().ToList();
        var ghcr = images.Where(i => i.StartsWith("ghcr.io/", StringComparison.Ordinal)).ToList();
        Assert.Equal(4, ghcr.Count);
        Assert.All(ghcr, image => Assert.Contains(image, published.Select(c => $"ghcr.io/{owner}/crnpcloud-{c}:{Version}")));
        Assert.DoesNotContain(images, i => i.Contains("crnpcloud/", StringComparison.Ordinal) && !ghcr.Contains(i));
    }

    [Fact]
    public void TheWorkflow_RunsCiFirst_ChecksTheTagAgainstVersion_AndPublishesBothPlatformsAndTheChart()
    {
        Assert.Matches(@"tags:\s*\[""v\*""\]", Workflow);
        Assert.Contains("bash .ci/run", Workflow, StringComparison.Ordinal);
        Assert.Matches(@"needs:\s*test", Workflow);
        Assert.Contains("\"$version\" != \"$(tr -d '[:space:]' < VERSION)\"", Workflow, StringComparison.Ordinal);
        Assert.Contains("for rid in linux-x64 linux-arm64", Workflow, StringComparison.Ordinal);
        Assert.Contains("bash charts/tools/build-images.sh --tag \"$VERSION-$rid\" --registry \"ghcr.io/$OWNER\"", Workflow, StringComparison.Ordinal);
        Assert.Contains("imagetools create --tag \"ghcr.io/$OWNER/crnpcloud-$c:$VERSION\"", Workflow, StringComparison.Ordinal);
        Assert.Contains("package charts/crnpcloud --version \"$VERSION\" --app-version \"$VERSION\"", Workflow, StringComparison.Ordinal);
        Assert.Contains("push \"dist/crnpcloud-$VERSION.tgz\" \"oci://ghcr.io/$OWNER/charts\"", Workflow, StringComparison.Ordinal);
    }

    [GeneratedRegex(@"^home:\s*https://github\.com/([^/\s]+)/", RegexOptions.Multiline)]
    private static partial Regex HomeOwner();

    [GeneratedRegex(@"for c in ([a-z ]+); do\s+docker buildx imagetools")]
    private static partial Regex PublishedComponents();
}
