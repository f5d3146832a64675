using System.Diagnostics;
using CrnpCloud.Testing;

namespace CrnpCloud.Chart.Tests;

/// <summary>
/// The four images, built once per test run by charts/tools/build-images.sh (into a temporary directory,
/// under a tag of this run) and loaded into podman with the settings of charts/tools/podman-env.sh.
/// <c>CRNP_IMAGE_ARCHIVES=DIR</c> uses archives a build-images.sh run wrote earlier instead.
/// Unavailable (the tests skip) only outside CI: without root, where podman cannot run here.
/// </summary>
public sealed class ImageFixture : IAsyncLifetime
{
    public static readonly string[] Names = ["edge", "ingest", "delivery", "operator"];

    private readonly Dictionary<string, string> _images = [];
    private string? _output;

    /// <summary>Why the images cannot be tested here; null when they can.</summary>
    public string? Unavailable { get; private set; }

    public TimeSpan BuildTime { get; private set; }

    /// <summary>The loaded image of crnpcloud-NAME (e.g. docker.io/library/crnpcloud-edge:e2e-1a2b3c4d).</summary>
    public string Image(string name) => _images[name];

    public static bool InCi => string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase);

    public async Task InitializeAsync()
    {
        if (!OperatingSystem.IsLinux() || Run("id", ["-u"]).Output.Trim() != "0")
        {
            Unavailable = "the image tests need Linux and root (rootful podman with charts/tools/podman-env.sh)";
            if (InCi)
            {
                throw new InvalidOperationException(Unavailable + "; CI=true, so this is a failure");
            }
            return;
        }

        var tools = Path.Combine(ServiceProcess.RepoRoot(), "charts", "tools");
        _ = Testing.Podman.ContainersConf; // installs podman when missing, or fails here with the reason

        var archives = Environment.GetEnvironmentVariable("CRNP_IMAGE_ARCHIVES");
        if (string.IsNullOrEmpty(archives))
        {
            _output = Directory.CreateTempSubdirectory("crnp-images-").FullName;
            archives = _output;
            var tag = "e2e-" + Guid.NewGuid().ToString("N")[..8];
            var started = Stopwatch.StartNew();
            var build = await Task.Run(() => Tool.Run("bash", [Path.Combine(tools, "build-images.sh"), "--tag", tag, "--output", archives], TimeSpan.FromMinutes(30))).ConfigureAwait(false);
            BuildTime = started.Elapsed;
            if (build.Code != 0)
            {
                throw new InvalidOperationException($"build-images.sh failed (exit {build.Code}):\n{Tail(build.Errors, 60)}");
            }
        }

        foreach (var name in Names)
        {
            var archive = Path.Combine(archives, $"crnpcloud-{name}.tar");
            var load = Podman("load", "--input", archive);
            var loaded = load.Output.Split('\n').Select(l => l.Trim()).LastOrDefault(l => l.StartsWith("Loaded image", StringComparison.Ordinal));
            if (load.Code != 0 || loaded is null)
            {
                throw new InvalidOperationException($"podman load {archive} failed:\n{load.Output}{load.Errors}");
            }
            _images[name] = loaded[(loaded.IndexOf(": ", StringComparison.Ordinal) + 2)..].Trim();
        }
    }

    public Task DisposeAsync()
    {
        // Only what this run loaded (under its own tag) and wrote.
        if (_output is not null)
        {
            foreach (var image in _images.Values)
            {
                Podman("rmi", "--force", image);
            }
            Directory.Delete(_output, recursive: true);
        }
        return Task.CompletedTask;
    }

    public (int Code, string Output, string Errors) Podman(params string[] args) =>
        Testing.Podman.Run(TimeSpan.FromMinutes(5), args);

    /// <summary>The Redis image the deployment test runs (tests/tools/build-redis-image.sh; built once, then reused).</summary>
    public string TestRedisImage()
    {
        var (code, output, errors) = Tool.Run("bash", [Path.Combine(ServiceProcess.RepoRoot(), "tests", "tools", "build-redis-image.sh")], TimeSpan.FromMinutes(10));
        return code == 0 ? output.Trim().Split('\n')[^1] : throw new InvalidOperationException("build-redis-image.sh failed:\n" + errors);
    }

    public static (int Code, string Output, string Errors) Run(string file, string[] args) => Tool.Run(file, args, TimeSpan.FromMinutes(5));

    private static string Tail(string text, int lines) => string.Join('\n', text.Split('\n').TakeLast(lines));
}

/// <summary>The image tests share one build and load of the images (and run one after the other).</summary>
[CollectionDefinition(Name)]
public sealed class ImageCollection : ICollectionFixture<ImageFixture>
{
    public const string Name = "images";
}
