using CrnpCloud.Testing;

namespace CrnpCloud.EndToEnd.Tests;

/// <summary><c>crnpctl</c> as a child process, run from its build like the services.</summary>
internal static class Crnpctl
{
    public static ServiceProcess Start(params string[] arguments) =>
        ServiceProcess.Start("CrnpCloud.Cli", "crnpctl", arguments, new Dictionary<string, string>());

    /// <summary>Runs a command to its end; returns its exit code and stdout.</summary>
    public static async Task<(int ExitCode, string Output, string Errors)> RunAsync(params string[] arguments)
    {
        await using var process = Start(arguments);
        // Process.WaitForExitAsync also waits for the end of the redirected output.
        var code = await process.WaitForExitAsync(TimeSpan.FromSeconds(60));
        return (code, string.Join("\n", process.Output), string.Join("\n", process.Errors));
    }
}
