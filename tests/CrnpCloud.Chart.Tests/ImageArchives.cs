using CrnpCloud.Testing;

namespace CrnpCloud.Chart.Tests;

/// <summary>
/// The four CrnpCloud images as charts/tools/build-images.sh writes them (<c>artifacts/images/*.tar</c>;
/// tests/run.sh builds them before the tests, and this builds them when they are missing), loaded into
/// podman once per test run; and the Redis image the container tests run (tests/tools/build-redis-image.sh).
/// </summary>
internal static class ImageArchives
{
    public static readonly string[] Components = ["edge", "ingest", "delivery", "operator"];

    private static readonly Lazy<Dictionary<string, string>> Loaded = new(() =>
    {
        var folder = Path.Combine(Helm.RepoRoot, "artifacts", "images");
        if (Components.Any(c => !File.Exists(Archive(folder, c))))
        {
            var (code, _, errors) = Tool.Run("bash", [Path.Combine(Helm.RepoRoot, "charts", "tools", "build-images.sh")], TimeSpan.FromMinutes(30));
            Assert.True(code == 0, "build-images.sh failed: " + errors);
        }
        return Components.ToDictionary(c => c, c => Podman.Load(Archive(folder, c)));
    });

    private static readonly Lazy<string> Redis = new(() =>
    {
        var (code, output, errors) = Tool.Run("bash", [Path.Combine(Helm.RepoRoot, "tests", "tools", "build-redis-image.sh")], TimeSpan.FromMinutes(10));
        Assert.True(code == 0, "build-redis-image.sh failed: " + errors);
        return output.Trim().Split('\n')[^1];
    });

    /// <summary>Component (edge, ingest, delivery, operator) -> loaded image name.</summary>
    public static Dictionary<string, string> Load() => Loaded.Value;

    public static string TestRedis() => Redis.Value;

    private static string Archive(string folder, string component) => Path.Combine(folder, $"crnpcloud-{component}.tar");
}
