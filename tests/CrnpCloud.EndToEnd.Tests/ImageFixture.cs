using System.Diagnostics;
using System.Text;
using CrnpCloud.Testing;

namespace CrnpCloud.EndToEnd.Tests;

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

    /// <summary>The CONTAINERS_CONF every podman call runs with.</summary>
    public string ContainersConf { get; private set; } = "";

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
        var env = Run("bash", [Path.Combine(tools, "podman-env.sh")]);
        if (env.Code != 0 || !File.Exists(env.Output.Trim()))
        {
            throw new InvalidOperationException($"charts/tools/podman-env.sh failed (it installs podman when missing):\n{env.Errors}");
        }
        ContainersConf = env.Output.Trim();

        var archives = Environment.GetEnvironmentVariable("CRNP_IMAGE_ARCHIVES");
        if (string.IsNullOrEmpty(archives))
        {
            _output = Directory.CreateTempSubdirectory("crnp-images-").FullName;
            archives = _output;
            var tag = "e2e-" + Guid.NewGuid().ToString("N")[..8];
            var started = Stopwatch.StartNew();
            var build = await RunAsync("bash", [Path.Combine(tools, "build-images.sh"), "--tag", tag, "--output", archives], TimeSpan.FromMinutes(30)).ConfigureAwait(false);
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
        Run("podman", args, new Dictionary<string, string> { ["CONTAINERS_CONF"] = ContainersConf });

    public static (int Code, string Output, string Errors) Run(string file, string[] args, IDictionary<string, string>? environment = null) =>
        RunAsync(file, args, TimeSpan.FromMinutes(5), environment).GetAwaiter().GetResult();

    private static async Task<(int Code, string Output, string Errors)> RunAsync(string file, string[] args, TimeSpan timeout, IDictionary<string, string>? environment = null)
    {
        var info = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }
        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
        {
            info.Environment[key] = value;
        }
        using var process = Process.Start(info)!;
        var output = new StringBuilder();
        var errors = new StringBuilder();
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) { lock (output) { output.AppendLine(e.Data); } } };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) { lock (errors) { errors.AppendLine(e.Data); } } };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        using var cancel = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(cancel.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{file} {string.Join(' ', args)} did not finish within {timeout}:\n{Tail(errors.ToString(), 40)}");
        }
        return (process.ExitCode, output.ToString(), errors.ToString());
    }

    private static string Tail(string text, int lines) => string.Join('\n', text.Split('\n').TakeLast(lines));
}
