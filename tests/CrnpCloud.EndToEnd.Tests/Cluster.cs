using System.Globalization;
using CrnpCloud.Testing;

namespace CrnpCloud.EndToEnd.Tests;

/// <summary>
/// A running CrnpCloud: edge, ingest and two delivery workers as separate processes on one
/// redis-server, or the all-in-one host on its in-memory store. Every port is picked free and read
/// back from the services' <c>listening</c> lines.
/// </summary>
internal sealed class Cluster : IAsyncDisposable
{
    private readonly List<ServiceProcess> _processes;

    private Cluster(List<ServiceProcess> processes, int edgePort, int ingestPort)
    {
        _processes = processes;
        EdgePort = edgePort;
        IngestPort = ingestPort;
    }

    public int EdgePort { get; }

    public int IngestPort { get; }

    public string Edge => "127.0.0.1:" + EdgePort.ToString(CultureInfo.InvariantCulture);

    public string Ingest => "127.0.0.1:" + IngestPort.ToString(CultureInfo.InvariantCulture);

    public IReadOnlyList<ServiceProcess> Processes => _processes;

    public static async Task<Cluster> StartSeparateAsync(RedisServer redis, IDictionary<string, string>? extra = null)
    {
        var common = new Dictionary<string, string>
        {
            ["Crnp__Store__Redis"] = redis.ConnectionString,
            ["Crnp__Store__KeyPrefix"] = RedisStores.UniquePrefix(),
            ["Crnp__Management__Port"] = "0",
            ["Crnp__Edge__Port"] = "0",
            ["Crnp__Ingest__Port"] = "0",
            ["Crnp__Delivery__RetryInterval"] = "00:00:00.200",
            ["Crnp__Delivery__ClientTimeout"] = "00:00:02",
        };
        foreach (var (key, value) in extra ?? new Dictionary<string, string>())
        {
            common[key] = value;
        }
        var edge = ServiceProcess.Start("CrnpCloud.Edge", common);
        var ingest = ServiceProcess.Start("CrnpCloud.Ingest", common);
        var workers = Enumerable.Range(0, 2).Select(_ => ServiceProcess.Start("CrnpCloud.Delivery", common)).ToList();
        var cluster = new Cluster([edge, ingest, .. workers], await edge.PortOfAsync("crnp"), await ingest.PortOfAsync("grpc"));
        foreach (var worker in workers)
        {
            await worker.PortOfAsync("http");
        }
        return cluster;
    }

    public static async Task<Cluster> StartAllInOneAsync(IDictionary<string, string>? extra = null)
    {
        var environment = new Dictionary<string, string>
        {
            ["Crnp__Delivery__RetryInterval"] = "00:00:00.200",
            ["Crnp__Delivery__ClientTimeout"] = "00:00:02",
        };
        foreach (var (key, value) in extra ?? new Dictionary<string, string>())
        {
            environment[key] = value;
        }
        var host = ServiceProcess.Start("CrnpCloud.AllInOne", "CrnpCloud.AllInOne", ["--edge-port", "0", "--ingest-port", "0", "--http-port", "0"], environment);
        return new Cluster([host], await host.PortOfAsync("crnp"), await host.PortOfAsync("grpc"));
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var process in _processes)
        {
            await process.DisposeAsync();
        }
    }
}

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
