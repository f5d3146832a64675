using System.Diagnostics;
using System.Globalization;
using StackExchange.Redis;
using Xunit;

namespace CrnpCloud.Testing;

/// <summary>
/// A real Redis Cluster of <c>masters</c> masters and no replicas, on free ports in its own temp dir:
/// <c>redis-server --cluster-enabled yes</c> per node, joined by <c>redis-cli --cluster create</c>,
/// ready once every node's <c>CLUSTER INFO</c> says <c>cluster_state:ok</c>. Dispose kills the nodes
/// and deletes the dir. No redis-server (or redis-cli) is a failure, not a skip.
/// </summary>
public sealed class RedisCluster : IAsyncDisposable
{
    private readonly List<Process> _processes = [];

    private RedisCluster(string directory, IReadOnlyList<int> ports)
    {
        Directory = directory;
        Ports = ports;
    }

    public string Directory { get; }

    /// <summary>The client port of every node (all masters).</summary>
    public IReadOnlyList<int> Ports { get; }

    /// <summary>Every node, for StackExchange.Redis (it discovers the slot map itself).</summary>
    public string ConnectionString => string.Join(",", Ports.Select(p => "127.0.0.1:" + p.ToString(CultureInfo.InvariantCulture)));

    public static async Task<RedisCluster> StartAsync(int masters = 3)
    {
        for (var attempt = 1; ; attempt++)
        {
            var directory = Path.Combine(Path.GetTempPath(), "crnp-redis-cluster-" + Guid.NewGuid().ToString("N"));
            System.IO.Directory.CreateDirectory(directory);
            var cluster = new RedisCluster(directory, [.. Enumerable.Range(0, masters).Select(_ => RedisServer.FreePort())]);
            try
            {
                await cluster.StartNodesAsync();
                return cluster;
            }
            catch (ServerExitedException) when (attempt < RedisServer.StartAttempts)
            {
                // A node's port was taken meanwhile (CI saw a node never answer): again, on other ports.
                await cluster.DisposeAsync();
            }
            catch
            {
                await cluster.DisposeAsync();
                throw;
            }
        }
    }

    private async Task StartNodesAsync()
    {
        var outputs = new Dictionary<int, (Process Process, System.Collections.Concurrent.ConcurrentQueue<string> Output)>();
        foreach (var port in Ports)
        {
            var node = Path.Combine(Directory, port.ToString(CultureInfo.InvariantCulture));
            System.IO.Directory.CreateDirectory(node);
            var output = new System.Collections.Concurrent.ConcurrentQueue<string>();
            // The bus port is set apart: port + 10000 (the default) may be taken, or past 65535.
            _processes.Add(Tool.Start("redis-server", output,
                "--port", port.ToString(CultureInfo.InvariantCulture), "--bind", "127.0.0.1",
                "--cluster-enabled", "yes", "--cluster-config-file", Path.Combine(node, "nodes.conf"),
                "--cluster-port", RedisServer.FreePort().ToString(CultureInfo.InvariantCulture),
                "--cluster-node-timeout", "5000",
                "--dir", node, "--appendonly", "no", "--save", "",
                "--daemonize", "no", "--protected-mode", "no", "--loglevel", "warning"));
            outputs[port] = (_processes[^1], output);
        }
        foreach (var port in Ports)
        {
            var (process, output) = outputs[port];
            await Tool.UntilAnsweringAsync(process, output, $"cluster node on port {port}", async () => (await TryCliAsync(port, "PING")) == "PONG");
        }

        await CliAsync([
            "--cluster", "create", .. Ports.Select(p => "127.0.0.1:" + p.ToString(CultureInfo.InvariantCulture)),
            "--cluster-replicas", "0", "--cluster-yes"]);

        foreach (var port in Ports)
        {
            await Eventually.TrueAsync(
                async () => (await TryCliAsync(port, "CLUSTER", "INFO"))?.Contains("cluster_state:ok", StringComparison.Ordinal) == true,
                $"cluster node on port {port} says cluster_state:ok", TimeSpan.FromSeconds(30));
        }
    }

    /// <summary>The slot of a key, as the cluster computes it (<c>CLUSTER KEYSLOT</c>).</summary>
    public async Task<int> KeySlotAsync(string key) =>
        int.Parse((await CliAsync(["-p", Ports[0].ToString(CultureInfo.InvariantCulture), "CLUSTER", "KEYSLOT", key])).Trim(), CultureInfo.InvariantCulture);

    /// <summary>The client port of the master that serves a slot (from <c>CLUSTER NODES</c>).</summary>
    public async Task<int> MasterOfSlotAsync(int slot)
    {
        var nodes = await CliAsync(["-p", Ports[0].ToString(CultureInfo.InvariantCulture), "CLUSTER", "NODES"]);
        foreach (var line in nodes.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            // <id> <ip:port@cport> <flags> <master> <ping> <pong> <epoch> <link> <slot or range>...
            var fields = line.Split(' ');
            if (!fields[2].Contains("master", StringComparison.Ordinal))
            {
                continue;
            }
            foreach (var range in fields.Skip(8).Where(f => !f.StartsWith('[')))
            {
                var bounds = range.Split('-');
                var from = int.Parse(bounds[0], CultureInfo.InvariantCulture);
                var to = int.Parse(bounds[^1], CultureInfo.InvariantCulture);
                if (slot >= from && slot <= to)
                {
                    var address = fields[1].Split('@')[0];
                    return int.Parse(address[(address.LastIndexOf(':') + 1)..], CultureInfo.InvariantCulture);
                }
            }
        }
        throw new InvalidOperationException($"no master serves slot {slot}:\n{nodes}");
    }

    public async ValueTask DisposeAsync()
    {
        await Tool.StopAllAsync(_processes, Directory);
        _processes.Clear();
    }

    private static async Task<string?> TryCliAsync(int port, params string[] command)
    {
        var (code, output, _) = await RunCliAsync(["-p", port.ToString(CultureInfo.InvariantCulture), .. command]);
        return code == 0 ? output.Trim() : null;
    }

    private static async Task<string> CliAsync(string[] args)
    {
        var (code, output, error) = await RunCliAsync(args);
        return code == 0 && !output.StartsWith("ERR", StringComparison.Ordinal) && !output.Contains("[ERR]", StringComparison.Ordinal)
            ? output
            : throw new InvalidOperationException($"redis-cli {string.Join(' ', args)} failed ({code}): {output}{error}");
    }

    private static async Task<(int Code, string Output, string Error)> RunCliAsync(string[] args)
    {
        var info = new ProcessStartInfo("redis-cli")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        info.ArgumentList.Add("-h");
        info.ArgumentList.Add("127.0.0.1");
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }
        using var process = Process.Start(info) ?? throw new InvalidOperationException("redis-cli did not start");
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await output, await error);
    }
}

/// <summary>
/// One 3-master Redis Cluster and one shared connection for the tests of a class; each test uses its
/// own key prefix and CRNP cluster name (<see cref="RedisStores.Create"/>).
/// </summary>
public sealed class RedisClusterFixture : IAsyncLifetime
{
    public RedisCluster Cluster { get; private set; } = null!;

    public IConnectionMultiplexer Connection { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Cluster = await RedisCluster.StartAsync();
        Connection = await ConnectionMultiplexer.ConnectAsync(CrnpCloud.Redis.RedisConnection.Configure(Cluster.ConnectionString));
        await Eventually.TrueAsync(
            () => Task.FromResult(Connection.GetServers().Count(s => s.IsConnected && !s.IsReplica) == Cluster.Ports.Count),
            "the client is connected to every master");
    }

    public async Task DisposeAsync()
    {
        if (Connection is not null)
        {
            await Connection.DisposeAsync();
        }
        if (Cluster is not null)
        {
            await Cluster.DisposeAsync();
        }
    }
}
