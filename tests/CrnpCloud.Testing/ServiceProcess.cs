using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text.RegularExpressions;

namespace CrnpCloud.Testing;

/// <summary>
/// A CrnpCloud service started as its own process from its build in the same configuration as the
/// caller (so a Release test run starts Release services), with settings in the environment.
/// </summary>
public sealed class ServiceProcess : IAsyncDisposable
{
    private static readonly Regex ListeningLine = new(@"^listening (\S+) +(\S+)", RegexOptions.Compiled);
    private readonly Process _process;
    private readonly ConcurrentQueue<string> _output = new();
    private readonly ConcurrentQueue<string> _errors = new();
    private readonly TaskCompletionSource _exited = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private int _disposed;

    private ServiceProcess(Process process) => _process = process;

    public int Pid => _process.Id;

    public bool HasExited => _process.HasExited;

    /// <summary>Every stdout line so far.</summary>
    public IReadOnlyCollection<string> Output => _output;

    /// <summary>Every stderr line so far.</summary>
    public IReadOnlyCollection<string> Errors => _errors;

    /// <summary>kill -9: no shutdown, no lease release, nothing flushed.</summary>
    public void Kill() => _process.Kill(entireProcessTree: true);

    /// <summary>Sends a signal by name (INT = Ctrl-C, TERM).</summary>
    public async Task SignalAsync(string signal)
    {
        using var kill = Process.Start("kill", ["-" + signal, _process.Id.ToString(CultureInfo.InvariantCulture)]);
        await kill.WaitForExitAsync();
    }

    public static ServiceProcess Start(string project, IDictionary<string, string> environment) => Start(project, project, [], environment);

    /// <summary>Starts <c>services/PROJECT/bin/CONFIG/net10.0/ASSEMBLY.dll</c> (or <c>operator/...</c>) with arguments and extra environment.</summary>
    /// <param name="launcher">a command the process runs under, e.g. <c>ip netns exec NAME</c> (it must exec, keeping the pid)</param>
    public static ServiceProcess Start(string project, string assembly, IEnumerable<string> arguments, IDictionary<string, string> environment, IReadOnlyList<string>? launcher = null) =>
        StartDll(assembly, BuiltDll(project, assembly), arguments, environment, launcher);

    /// <summary>The built <c>ASSEMBLY.dll</c> of a project, in the caller's configuration; throws if it was not built.</summary>
    public static string BuiltDll(string project, string? assembly = null)
    {
        var configuration = AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Debug{Path.DirectorySeparatorChar}", StringComparison.Ordinal) ? "Debug" : "Release";
        var folder = Directory.Exists(Path.Combine(RepoRoot(), "services", project)) ? "services" : "operator";
        var dll = Path.Combine(RepoRoot(), folder, project, "bin", configuration, "net10.0", (assembly ?? project) + ".dll");
        return File.Exists(dll) ? dll : throw new FileNotFoundException($"build it first: dotnet build -c {configuration} {folder}/{project}", dll);
    }

    /// <summary>Starts <c>dotnet DLL ARGUMENTS</c>; <paramref name="name"/> prefixes its relayed output.</summary>
    public static ServiceProcess StartDll(string name, string dll, IEnumerable<string> arguments, IDictionary<string, string> environment, IReadOnlyList<string>? launcher = null)
    {
        var info = launcher is { Count: > 0 }
            ? new ProcessStartInfo(launcher[0], [.. launcher.Skip(1), "dotnet", dll, .. arguments])
            : new ProcessStartInfo("dotnet", [dll, .. arguments]);
        info.UseShellExecute = false;
        info.RedirectStandardOutput = true;
        info.RedirectStandardError = true;
        foreach (var (key, value) in environment)
        {
            info.Environment[key] = value;
        }
        info.Environment.TryAdd("Logging__LogLevel__Default", "Warning");

        // Several services share this machine: none takes the fixed management port (9464).
        info.Environment.TryAdd("Crnp__Management__Port", "0");
        var process = new Process { StartInfo = info, EnableRaisingEvents = true };
        var service = new ServiceProcess(process);
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                service._output.Enqueue(e.Data);
                Console.Error.WriteLine($"[{name}] {e.Data}");
            }
        };
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                service._errors.Enqueue(e.Data);
                Console.Error.WriteLine($"[{name}] {e.Data}");
            }
        };
        process.Exited += (_, _) => service._exited.TrySetResult();
        if (!process.Start())
        {
            throw new InvalidOperationException($"{name} did not start");
        }
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return service;
    }

    /// <summary>The port of a named endpoint, from the <c>listening NAME ADDRESS:PORT</c> line the services print once started.</summary>
    public async Task<int> PortOfAsync(string name, TimeSpan? timeout = null)
    {
        var port = 0;
        await WaitForAsync(() =>
        {
            foreach (var line in _output)
            {
                var match = ListeningLine.Match(line);
                if (match.Success && match.Groups[1].Value == name && IPEndPoint.TryParse(match.Groups[2].Value, out var endPoint))
                {
                    port = endPoint.Port;
                    return true;
                }
            }
            return false;
        }, $"listening {name}", timeout);
        return port;
    }

    /// <summary>Waits until a condition on the output holds; fails early, with the output, if the process exits first.</summary>
    public async Task WaitForAsync(Func<bool> condition, string what, TimeSpan? timeout = null)
    {
        var deadline = Stopwatch.GetTimestamp() + (long)((timeout ?? TimeSpan.FromSeconds(60)).TotalSeconds * Stopwatch.Frequency);
        while (!condition())
        {
            if (_exited.Task.IsCompleted && !condition())
            {
                throw new InvalidOperationException($"the process exited ({ExitCodeText()}) before: {what}\n{Transcript()}");
            }
            if (Stopwatch.GetTimestamp() > deadline)
            {
                throw new TimeoutException($"not seen in time: {what}\n{Transcript()}");
            }
            await Task.WhenAny(_exited.Task, Task.Delay(50));
        }
    }

    /// <summary>Waits for the process to exit and returns its exit code.</summary>
    public async Task<int> WaitForExitAsync(TimeSpan? timeout = null)
    {
        using var cancel = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(60));
        try
        {
            await _process.WaitForExitAsync(cancel.Token);
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"the process did not exit in time\n{Transcript()}");
        }
        return _process.ExitCode;
    }

    public string Transcript() => "stdout:\n" + string.Join("\n", _output.TakeLast(40)) + "\nstderr:\n" + string.Join("\n", _errors.TakeLast(40));

    private string ExitCodeText() => _process.HasExited ? "exit code " + _process.ExitCode.ToString(CultureInfo.InvariantCulture) : "running";

    /// <summary>CPU seconds used so far (user + system) and peak resident memory in MiB, from /proc.</summary>
    public (double CpuSeconds, double PeakRssMiB) Usage() => ProcUsage.Of(_process.Id);

    /// <summary>Stops it with SIGTERM (up to 30 s) and releases it; a second call does nothing.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }
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
