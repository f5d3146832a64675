using System.Diagnostics;
using System.Globalization;
using Xunit;

namespace CrnpCloud.Testing;

/// <summary>
/// A real Sentinel topology, as processes on free ports in its own temp dir: a redis-server master,
/// <c>replicas</c> redis-server replicas and <c>sentinels</c> redis-sentinel daemons (quorum 2,
/// <c>down-after-milliseconds</c> 2000 unless told). Ready once every Sentinel names the same master
/// and sees every replica linked to it and every other Sentinel. Faults on demand: kill -9, SIGSTOP,
/// SIGCONT of a node, and a restart of a dead node (as a replica of the master of the moment).
/// Persistence is off on purpose: what survives a failover is what reached a replica. Dispose kills
/// every process and deletes the dir. No redis-server or redis-sentinel is a failure, not a skip.
/// </summary>
public sealed class RedisSentinel : IAsyncDisposable
{
    public const string ServiceName = "mymaster";

    private readonly Dictionary<int, Process?> _nodes = [];
    private readonly List<Process> _sentinels = [];
    private readonly HashSet<int> _stopped = [];

    private RedisSentinel(string directory, IReadOnlyList<int> dataPorts, IReadOnlyList<int> sentinelPorts, int downAfterMilliseconds)
    {
        Directory = directory;
        DataPorts = dataPorts;
        SentinelPorts = sentinelPorts;
        DownAfter = TimeSpan.FromMilliseconds(downAfterMilliseconds);
    }

    public string Directory { get; }

    /// <summary>Every redis-server's port; the first was the master at the start.</summary>
    public IReadOnlyList<int> DataPorts { get; }

    public IReadOnlyList<int> SentinelPorts { get; }

    public TimeSpan DownAfter { get; }

    /// <summary><c>Crnp:Store:Redis</c> for this topology (StackExchange.Redis's Sentinel form).</summary>
    public string ConnectionString =>
        string.Join(",", SentinelPorts.Select(p => "127.0.0.1:" + p.ToString(CultureInfo.InvariantCulture))) + ",serviceName=" + ServiceName;

    /// <summary>The same topology as a <c>redis+sentinel://</c> URL.</summary>
    public string Url =>
        "redis+sentinel://" + string.Join(",", SentinelPorts.Select(p => "127.0.0.1:" + p.ToString(CultureInfo.InvariantCulture))) + "/" + ServiceName;

    public static async Task<RedisSentinel> StartAsync(int replicas = 2, int sentinels = 3, int downAfterMilliseconds = 2000)
    {
        var directory = Path.Combine(Path.GetTempPath(), "crnp-redis-sentinel-" + Guid.NewGuid().ToString("N"));
        System.IO.Directory.CreateDirectory(directory);
        var topology = new RedisSentinel(directory,
            [.. Enumerable.Range(0, replicas + 1).Select(_ => RedisServer.FreePort())],
            [.. Enumerable.Range(0, sentinels).Select(_ => RedisServer.FreePort())],
            downAfterMilliseconds);
        try
        {
            await topology.StartAllAsync();
            return topology;
        }
        catch
        {
            await topology.DisposeAsync();
            throw;
        }
    }

    private async Task StartAllAsync()
    {
        var master = DataPorts[0];
        _nodes[master] = StartNode(master, replicaOf: null);
        foreach (var port in DataPorts.Skip(1))
        {
            _nodes[port] = StartNode(port, replicaOf: master);
        }
        foreach (var port in DataPorts)
        {
            await Eventually.TrueAsync(async () => await Resp.TryAsync(port, "PING") is "PONG", $"redis-server on port {port} answers PING", TimeSpan.FromSeconds(20));
        }
        foreach (var port in SentinelPorts)
        {
            // Sentinel rewrites its configuration file, so each has its own, writable.
            var file = Path.Combine(Directory, $"sentinel-{port}.conf");
            var failoverTimeout = (int)Math.Max(4000, DownAfter.TotalMilliseconds * 3);
            await File.WriteAllTextAsync(file, string.Join('\n',
                $"port {port}",
                "bind 127.0.0.1",
                "protected-mode no",
                $"dir {Directory}",
                "loglevel warning",
                $"sentinel monitor {ServiceName} 127.0.0.1 {master} 2",
                $"sentinel down-after-milliseconds {ServiceName} {(int)DownAfter.TotalMilliseconds}",
                $"sentinel failover-timeout {ServiceName} {failoverTimeout}",
                $"sentinel parallel-syncs {ServiceName} 2",
                ""));
            _sentinels.Add(Tool.Start("redis-sentinel", file));
        }
        await WaitHealthyAsync(DataPorts.Count - 1, TimeSpan.FromSeconds(60));
    }

    /// <summary>
    /// Waits until every Sentinel names the same master, that master says it is one, and every
    /// Sentinel sees <paramref name="replicas"/> replicas linked to it and all the other Sentinels.
    /// Returns the master's port.
    /// </summary>
    public async Task<int> WaitHealthyAsync(int replicas, TimeSpan? timeout = null)
    {
        var master = 0;
        string state = "nothing asked yet";
        try
        {
            await Eventually.TrueAsync(async () =>
            {
                (var healthy, state, master) = await HealthAsync(replicas);
                return healthy;
            }, $"Sentinel topology healthy with {replicas} replicas", timeout ?? TimeSpan.FromSeconds(60));
        }
        catch (TimeoutException ex)
        {
            throw new TimeoutException($"{ex.Message}; last seen: {state}", ex);
        }
        return master;
    }

    private async Task<(bool Healthy, string State, int Master)> HealthAsync(int replicas)
    {
        var masters = new HashSet<int>();
        foreach (var sentinel in SentinelPorts)
        {
            var master = await MasterSeenByAsync(sentinel);
            if (master is null)
            {
                return (false, $"Sentinel {sentinel} names no master", 0);
            }
            masters.Add(master.Value);
            var fields = Fields(await Resp.TryAsync(sentinel, "SENTINEL", "MASTER", ServiceName));
            if (!fields.TryGetValue("flags", out var flags) || flags != "master"
                || !fields.TryGetValue("num-other-sentinels", out var others) || others != (SentinelPorts.Count - 1).ToString(CultureInfo.InvariantCulture))
            {
                return (false, $"Sentinel {sentinel} sees the master as: {string.Join(' ', fields.Select(f => f.Key + "=" + f.Value))}", 0);
            }
            var linked = (await Resp.TryAsync(sentinel, "SENTINEL", "REPLICAS", ServiceName) as object?[] ?? [])
                .Select(Fields)
                .Count(r => r.GetValueOrDefault("flags") == "slave" && r.GetValueOrDefault("master-link-status") == "ok"
                    && r.GetValueOrDefault("master-port") == master.Value.ToString(CultureInfo.InvariantCulture));
            if (linked < replicas)
            {
                return (false, $"Sentinel {sentinel} sees {linked} replicas linked to {master}", 0);
            }
        }
        if (masters.Count != 1)
        {
            return (false, $"Sentinels disagree on the master: {string.Join(", ", masters)}", 0);
        }
        var port = masters.Single();
        var role = await Resp.TryAsync(port, "ROLE") as object?[];
        if (role is null || role.Length < 3 || !Equals(role[0], "master") || role[2] is not object?[] connected || connected.Length < replicas)
        {
            return (false, $"port {port} is not a master with {replicas} replicas", 0);
        }
        return (true, "healthy", port);
    }

    /// <summary>The master's port as the first Sentinel that answers names it.</summary>
    public async Task<int> MasterPortAsync()
    {
        foreach (var sentinel in SentinelPorts)
        {
            if (await MasterSeenByAsync(sentinel) is { } port)
            {
                return port;
            }
        }
        throw new InvalidOperationException("no Sentinel names a master");
    }

    /// <summary>Waits until every Sentinel names a master other than <paramref name="old"/>, and it says it is one; returns its port.</summary>
    public async Task<int> WaitForNewMasterAsync(int old, TimeSpan timeout)
    {
        var master = 0;
        await Eventually.TrueAsync(async () =>
        {
            var seen = new HashSet<int?>();
            foreach (var sentinel in SentinelPorts)
            {
                seen.Add(await MasterSeenByAsync(sentinel));
            }
            if (seen.Count != 1 || seen.Single() is not { } port || port == old)
            {
                return false;
            }
            master = port;
            return await RoleAsync(port) == "master";
        }, $"the Sentinels promote a replica instead of port {old}", timeout);
        return master;
    }

    /// <summary>Processes a port's node: kill -9, then it is dead until <see cref="RestartAsync"/>.</summary>
    public async Task KillAsync(int port)
    {
        if (_nodes[port] is { } process)
        {
            if (_stopped.Remove(port))
            {
                Signal(process, "CONT");
            }
            process.Kill();
            await process.WaitForExitAsync();
            process.Dispose();
            _nodes[port] = null;
        }
    }

    /// <summary>SIGSTOP: the node keeps its connections open and answers nothing, like a partition.</summary>
    public void Stop(int port)
    {
        Signal(_nodes[port] ?? throw new InvalidOperationException($"port {port} is not running"), "STOP");
        _stopped.Add(port);
    }

    /// <summary>SIGCONT after <see cref="Stop"/>.</summary>
    public void Continue(int port)
    {
        Signal(_nodes[port] ?? throw new InvalidOperationException($"port {port} is not running"), "CONT");
        _stopped.Remove(port);
    }

    /// <summary>Starts a killed node again, as a replica of the master the Sentinels name now (empty, it syncs from there).</summary>
    public async Task RestartAsync(int port)
    {
        if (_nodes[port] is not null)
        {
            throw new InvalidOperationException($"port {port} is still running");
        }
        _nodes[port] = StartNode(port, await MasterPortAsync());
        await Eventually.TrueAsync(async () => await Resp.TryAsync(port, "PING") is "PONG", $"redis-server on port {port} answers PING", TimeSpan.FromSeconds(20));
    }

    /// <summary>The role a node reports (<c>master</c>, <c>slave</c>), or null when it does not answer.</summary>
    public async Task<string?> RoleAsync(int port) =>
        await Resp.TryAsync(port, "ROLE") is object?[] { Length: > 0 } role ? role[0] as string : null;

    /// <summary>Runs a command on one node (or Sentinel); null when it does not answer.</summary>
    public static Task<object?> CommandAsync(int port, params string[] command) => Resp.TryAsync(port, command);

    public async ValueTask DisposeAsync()
    {
        await Tool.StopAllAsync([.. _sentinels, .. _nodes.Values.OfType<Process>()], Directory);
        _sentinels.Clear();
        _nodes.Clear();
    }

    private async Task<int?> MasterSeenByAsync(int sentinel) =>
        await Resp.TryAsync(sentinel, "SENTINEL", "GET-MASTER-ADDR-BY-NAME", ServiceName) is object?[] { Length: 2 } address && address[1] is string port
            ? int.Parse(port, CultureInfo.InvariantCulture)
            : null;

    private Process StartNode(int port, int? replicaOf)
    {
        var dir = Path.Combine(Directory, port.ToString(CultureInfo.InvariantCulture));
        System.IO.Directory.CreateDirectory(dir);
        string[] args =
        [
            "--port", port.ToString(CultureInfo.InvariantCulture), "--bind", "127.0.0.1", "--dir", dir,
            "--appendonly", "no", "--save", "", "--daemonize", "no", "--protected-mode", "no", "--loglevel", "warning",
        ];
        return Tool.Start("redis-server", replicaOf is { } master ? [.. args, "--replicaof", "127.0.0.1", master.ToString(CultureInfo.InvariantCulture)] : args);
    }

    private static Dictionary<string, string> Fields(object? reply)
    {
        var fields = new Dictionary<string, string>();
        if (reply is object?[] items)
        {
            for (var i = 0; i + 1 < items.Length; i += 2)
            {
                if (items[i] is string name && items[i + 1] is string value)
                {
                    fields[name] = value;
                }
            }
        }
        return fields;
    }

    private static void Signal(Process process, string signal)
    {
        using var kill = Process.Start("kill", ["-" + signal, process.Id.ToString(CultureInfo.InvariantCulture)]);
        kill.WaitForExit();
    }
}

/// <summary>
/// One Sentinel topology and one shared connection through its Sentinels (as the services make it) for
/// the tests of a class; each test uses its own key prefix.
/// </summary>
public sealed class RedisSentinelFixture : IAsyncLifetime
{
    public RedisSentinel Sentinel { get; private set; } = null!;

    public CrnpCloud.Redis.SentinelConnection Connection { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Sentinel = await RedisSentinel.StartAsync();
        Connection = CrnpCloud.Redis.SentinelConnection.Connect(Sentinel.ConnectionString);
        await Eventually.TrueAsync(() => Task.FromResult(Connection.Current?.GetServers()[0] is { IsConnected: true, IsReplica: false }),
            "connected to the master through the Sentinels");
    }

    public async Task DisposeAsync()
    {
        Connection?.Dispose();
        if (Sentinel is not null)
        {
            await Sentinel.DisposeAsync();
        }
    }
}
