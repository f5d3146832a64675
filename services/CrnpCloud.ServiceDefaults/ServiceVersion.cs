using System.Reflection;

namespace CrnpCloud.ServiceDefaults;

/// <summary>
/// The product version of the running binary: the informational version MSBuild stamps from the file
/// <c>VERSION</c> at the repository root (plus <c>+commit</c> when built from a git checkout).
/// </summary>
public static class ServiceVersion
{
    /// <summary>e.g. <c>0.1.0+76e792d…</c>; <c>0.0.0</c> when the entry assembly carries none.</summary>
    public static string Current { get; } =
        Assembly.GetEntryAssembly()?.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "0.0.0";

    /// <summary>The version without build metadata (<c>0.1.0</c>), as OpenTelemetry's <c>service.version</c>.</summary>
    public static string Release => Current.Split('+', 2)[0];

    /// <summary>
    /// Prints <see cref="Current"/> and returns true when the only argument is <c>--version</c>, so a
    /// service's <c>Program.cs</c> can end before it builds a host (no port is opened, no store touched).
    /// </summary>
    public static bool PrintIfRequested(string[] args, TextWriter? output = null)
    {
        ArgumentNullException.ThrowIfNull(args);
        if (args is not ["--version"])
        {
            return false;
        }
        (output ?? Console.Out).WriteLine(Current);
        return true;
    }
}
