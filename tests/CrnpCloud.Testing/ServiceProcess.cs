using System.Diagnostics;
using System.Globalization;

namespace CrnpCloud.Testing;

/// <summary>
/// A CrnpCloud service started as its own process from its build in the same configuration as the
/// caller (so a Release test run starts Release services), with settings in the environment.
/// </summary>
public sealed class ServiceProcess : IAsyncDisposable
{
    private readonly Process _process;

    private ServiceProcess(Process process) => _process = process;

    public int Pid => _process.Id;

    public bool HasExited => _process.HasExited;

    /// <summary>kill -9: no shutdown, no lease release, nothing flushed.</summary>
    public void Kill() => _process.Kill(entireProcessTree: true);

    public static ServiceProcess Start(string project, IDictionary<string, string> environment)
    {
        var configuration = AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Debug{Path.DirectorySeparatorChar}", StringComparison.Ordinal) ? "Debug" : "Release";
        var dll = Path.Combine(RepoRoot(), "services", project, "bin", configuration, "net10.0", project + ".dll");
        if (!File.Exists(dll))
        {
            throw new FileNotFoundException($"build it first: dotnet build -c {configuration} services/{project}", dll);
        }

        var info = new ProcessStartInfo("dotnet", [dll]) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var (key, value) in environment)
        {
            info.Environment[key] = value;
        }
        info.Environment.TryAdd("Logging__LogLevel__Default", "Warning");
        var process = Process.Start(info) ?? throw new InvalidOperationException($"{project} did not start");
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) { Console.Error.WriteLine($"[{project}] {e.Data}"); } };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) { Console.Error.WriteLine($"[{project}] {e.Data}"); } };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return new ServiceProcess(process);
    }

    /// <summary>CPU seconds used so far (user + system) and peak resident memory in MiB, from /proc.</summary>
    public (double CpuSeconds, double PeakRssMiB) Usage() => ProcUsage.Of(_process.Id);

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            using var term = Process.Start("kill", ["-TERM", _process.Id.ToString(CultureInfo.InvariantCulture)]);
            await term.WaitForExitAsync();
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            await _process.WaitForExitAsync(timeout.Token);
        }
        _process.Dispose();
    }

    public static string RepoRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "CrnpCloud.sln")))
        {
            dir = dir.Parent;
        }
        return dir?.FullName ?? throw new InvalidOperationException("run from inside the repository");
    }
}

public static class ProcUsage
{
    public static (double CpuSeconds, double PeakRssMiB) Of(int pid)
    {
        var stat = File.ReadAllText($"/proc/{pid}/stat");
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        var ticks = long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
        var peakKb = File.ReadAllLines($"/proc/{pid}/status").First(l => l.StartsWith("VmHWM:", StringComparison.Ordinal))
            .Split(' ', StringSplitOptions.RemoveEmptyEntries)[1];
        return (ticks / 100.0, long.Parse(peakKb, CultureInfo.InvariantCulture) / 1024.0);
    }
}
