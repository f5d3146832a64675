using System.Diagnostics;

namespace CrnpCloud.Testing;

/// <summary>Runs a command-line tool to its end (<see cref="Run"/>), or starts a long-running one (<see cref="Start"/>).</summary>
public static class Tool
{
    public static (int Code, string Output, string Errors) Run(string file, IEnumerable<string> args, TimeSpan timeout, IReadOnlyDictionary<string, string>? environment = null)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args)
        {
            start.ArgumentList.Add(a);
        }
        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[name] = value;
        }
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(timeout))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{file} {string.Join(' ', args)} did not finish within {timeout}");
        }
        return (process.ExitCode, stdout.Result, stderr.Result);
    }

    /// <summary>
    /// Starts a long-running process (a redis-server, a redis-sentinel) whose output is read and
    /// dropped, so a full pipe never blocks it. The caller stops and disposes it.
    /// </summary>
    public static Process Start(string file, params string[] args) => Start(file, null, args);

    /// <summary>As <see cref="Start(string, string[])"/>, keeping every output line in <paramref name="output"/> (for the error when it exits early).</summary>
    public static Process Start(string file, System.Collections.Concurrent.ConcurrentQueue<string>? output, params string[] args)
    {
        var info = new ProcessStartInfo(file)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }
        var process = Process.Start(info) ?? throw new InvalidOperationException(file + " did not start");
        process.OutputDataReceived += (_, e) => Keep(e.Data);
        process.ErrorDataReceived += (_, e) => Keep(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;

        void Keep(string? line)
        {
            if (line is not null && output is { Count: < 200 })
            {
                output.Enqueue(line);
            }
        }
    }

    /// <summary>
    /// Waits (up to 20 s) until a server started by <see cref="Start(string, System.Collections.Concurrent.ConcurrentQueue{string}?, string[])"/>
    /// answers; one that exits first fails at once with its output (<see cref="ServerExitedException"/>).
    /// </summary>
    public static Task UntilAnsweringAsync(Process process, IEnumerable<string> output, string what, Func<Task<bool>> answers) =>
        Eventually.TrueAsync(
            async () => process.HasExited ? throw new ServerExitedException(what, process.ExitCode, output) : await answers(),
            $"{what} answers PING", TimeSpan.FromSeconds(20));

    /// <summary>Kills the processes <see cref="Start"/> started (those still running) and deletes their working directory.</summary>
    public static async Task StopAllAsync(IEnumerable<Process> processes, string directory)
    {
        foreach (var process in processes)
        {
            try
            {
                if (!process.HasExited)
                {
                    process.Kill();
                    await process.WaitForExitAsync();
                }
            }
            catch (InvalidOperationException)
            {
                // Already gone.
            }
            process.Dispose();
        }
        try
        {
            System.IO.Directory.Delete(directory, recursive: true);
        }
        catch (IOException)
        {
            // A leftover temp dir is harmless.
        }
    }
}

/// <summary>
/// A server process that exited before it answered: most often its "free" port was taken by another
/// process between <see cref="RedisServer.FreePort"/> and its bind (the port is only free when chosen),
/// which a start on other ports gets past.
/// </summary>
public sealed class ServerExitedException(string what, int exitCode, IEnumerable<string> output)
    : Exception($"{what} exited ({exitCode}) before it answered: {string.Join(" | ", output)}");
