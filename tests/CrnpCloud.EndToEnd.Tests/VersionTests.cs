using System.Diagnostics;
using CrnpCloud.Testing;

namespace CrnpCloud.EndToEnd.Tests;

/// <summary>Every binary reports the one version source, the file <c>VERSION</c> at the repository root.</summary>
public sealed class VersionTests
{
    [Theory]
    [InlineData("CrnpCloud.Edge", null)]
    [InlineData("CrnpCloud.Ingest", null)]
    [InlineData("CrnpCloud.Delivery", null)]
    [InlineData("CrnpCloud.Operator", null)]
    [InlineData("CrnpCloud.AllInOne", null)]
    [InlineData("CrnpCloud.Cli", "crnpctl")]
    public async Task Version_PrintsTheRepositoryVersion_WithoutStartingTheService(string project, string? assembly)
    {
        var expected = File.ReadAllText(Path.Combine(ServiceProcess.RepoRoot(), "VERSION")).Trim();
        var info = new ProcessStartInfo("dotnet", [ServiceProcess.BuiltDll(project, assembly), "--version"])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        // A service that ignored --version would start and listen on its default ports; the timeout catches that.
        using var process = Process.Start(info)!;
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var output = await process.StandardOutput.ReadToEndAsync(timeout.Token);
        await process.WaitForExitAsync(timeout.Token);

        Assert.Equal(0, process.ExitCode);
        var line = Assert.Single(output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        Assert.Equal(expected, line.Split('+', 2)[0]);
    }
}
