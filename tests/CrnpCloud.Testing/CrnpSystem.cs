using System.Globalization;
using System.Net;
using System.Text.RegularExpressions;
using CrnpCloud.Ingest.V1;
using Grpc.Core;
using Grpc.Net.Client;
using StackExchange.Redis;

namespace CrnpCloud.Testing;

/// <summary>
/// CrnpCloud as processes, the one harness of the end-to-end tests, the chaos and failover tests and
/// the benchmarks (<see cref="SystemOptions"/> says what runs): the all-in-one host, or an edge, an
/// ingest, delivery workers and operators on a redis-server of its own, the caller's, or any store
/// the caller runs. Every port is picked free and read back from the services' <c>listening</c> lines.
/// Faults on demand: kill -9 or SIGTERM of a worker, the edge or the ingest (then a new one), a worker
/// more, redis-server kill -9 and restart. What a stopped process logged as an unhandled exception or
/// critical is kept (<see cref="Report.Problems"/>). CRNP clients, numbered publishing and the ledger
/// check are in CrnpSystem.Load.cs.
/// </summary>
public sealed partial class CrnpSystem : IAsyncDisposable
{
    private static readonly Regex ResyncLine = new(@"the store changed from \S+ to \S+ \(failover or restart\); queued (\d+) ", RegexOptions.Compiled);

    private readonly SystemOptions _options;
    private readonly RedisServer? _ownRedis;
    private readonly Dictionary<string, string> _environment;
    private readonly List<(string Name, ServiceProcess Process)> _workers = [];
    private readonly List<ServiceProcess> _operators = [];
    private readonly List<string> _problems = [];
    private ServiceProcess? _allInOne;
    private ServiceProcess? _edge;
    private ServiceProcess? _ingest;
    private int _edgePort;
    private int _ingestPort;
    private int _workersStarted;
    private readonly Lock _channelLock = new();
    private GrpcChannel? _channel;
    private int _channelPort;
    private ConnectionMultiplexer? _admin;

    private CrnpSystem(SystemOptions options, RedisServer? ownRedis)
    {
        _options = options;
        _ownRedis = ownRedis;
        Redis = ownRedis ?? options.Redis;
        _environment = new Dictionary<string, string>
        {
            ["Crnp__Edge__Port"] = "0",
            ["Crnp__Ingest__Port"] = "0",
        };
        if (!options.AllInOne)
        {
            _environment["Crnp__Store__Redis"] = options.Store ?? Redis!.ConnectionString;
            _environment["Crnp__Store__KeyPrefix"] = options.KeyPrefix ?? RedisStores.UniquePrefix();
        }
        _environment = SystemOptions.Merge(_environment, options.Settings);
    }

    /// <summary>The redis-server the system runs on (its own or the caller's); null on the all-in-one host or a store the caller gave as a connection.</summary>
    public RedisServer? Redis { get; }

    /// <summary>The store's key prefix (null on the all-in-one host).</summary>
    public string? KeyPrefix => _environment.GetValueOrDefault("Crnp__Store__KeyPrefix");

    /// <summary>The current edge (a new port after the edge is replaced).</summary>
    public IPEndPoint Edge => new(IPAddress.Loopback, Volatile.Read(ref _edgePort));

    /// <summary>The current ingest's gRPC endpoint (a new port after the ingest is replaced).</summary>
    public IPEndPoint Ingest => new(IPAddress.Loopback, Volatile.Read(ref _ingestPort));

    /// <summary>The ingest's gRPC API, on the current ingest.</summary>
    public EventIngest.EventIngestClient IngestClient
    {
        get
        {
            lock (_channelLock)
            {
                var port = Volatile.Read(ref _ingestPort);
                if (_channel is null || _channelPort != port)
                {
                    _channel?.Dispose();
                    _channel = GrpcChannel.ForAddress($"http://127.0.0.1:{port}");
                    _channelPort = port;
                }
                return new EventIngest.EventIngestClient(_channel);
            }
        }
    }

    public ServiceProcess EdgeProcess => _edge ?? _allInOne ?? throw new InvalidOperationException("no edge runs");

    public ServiceProcess IngestProcess => _ingest ?? _allInOne!;

    public IReadOnlyList<ServiceProcess> Workers => [.. _workers.Select(w => w.Process)];

    /// <summary>The operators in identity order: <c>op-1</c> first.</summary>
    public IReadOnlyList<ServiceProcess> Operators => _operators;

    /// <summary>Every CrnpCloud process now running, by name (allinone, edge, ingest, delivery1..., operator1...).</summary>
    public IReadOnlyList<(string Name, ServiceProcess Process)> Processes
    {
        get
        {
            var processes = new List<(string Name, ServiceProcess Process)>();
            if (_allInOne is not null)
            {
                processes.Add(("allinone", _allInOne));
            }
            if (_edge is not null)
            {
                processes.Add(("edge", _edge));
            }
            if (_ingest is not null)
            {
                processes.Add(("ingest", _ingest));
            }
            processes.AddRange(_workers);
            processes.AddRange(_operators.Select((o, i) => ($"operator{i + 1}", o)));
            return processes;
        }
    }

    /// <summary>Faults injected so far (kills, restarts, replaced processes).</summary>
    public int Faults { get; private set; }

    public static async Task<CrnpSystem> StartAsync(SystemOptions options)
    {
        var ownRedis = options.AllInOne || options.Redis is not null || options.Store is not null ? null : await RedisServer.StartAsync(options.Fsync);
        var system = new CrnpSystem(options, ownRedis);
        try
        {
            await system.StartProcessesAsync();
            await system.StartClientsAsync(options.Clients);
            return system;
        }
        catch
        {
            await system.DisposeAsync();
            throw;
        }
    }

    private async Task StartProcessesAsync()
    {
        if (_options.AllInOne)
        {
            _allInOne = ServiceProcess.Start("CrnpCloud.AllInOne", "CrnpCloud.AllInOne", ["--edge-port", "0", "--ingest-port", "0", "--http-port", "0"], _environment);
            _edgePort = await _allInOne.PortOfAsync("crnp");
            _ingestPort = await _allInOne.PortOfAsync("grpc");
        }
        else
        {
            _edge = _options.Edge ? ServiceProcess.Start("CrnpCloud.Edge", _environment) : null;
            _ingest = ServiceProcess.Start("CrnpCloud.Ingest", _environment);
            for (var i = 0; i < _options.Workers; i++)
            {
                _workers.Add(StartWorker());
            }
            _edgePort = _edge is null ? 0 : await _edge.PortOfAsync("crnp");
            _ingestPort = await _ingest.PortOfAsync("grpc");
            foreach (var (_, worker) in _workers)
            {
                await worker.PortOfAsync("http");
            }
            var operatorSettings = SystemOptions.Merge(_environment, _options.OperatorSettings);
            operatorSettings["Crnp__Operator__IngestAddress"] = $"http://127.0.0.1:{_ingestPort}";
            for (var i = 0; i < _options.Operators; i++)
            {
                _operators.Add(ServiceProcess.Start("CrnpCloud.Operator", new Dictionary<string, string>(operatorSettings) { ["Crnp__Operator__Identity"] = $"op-{i + 1}" }));
            }
            foreach (var op in _operators)
            {
                await op.PortOfAsync("http");
            }
        }
        if (_options.WaitForIngest)
        {
            await Eventually.TrueAsync(async () =>
            {
                try
                {
                    await IngestClient.PublishAsync(new PublishRequest { Event = new Event { Class = "EC_Bench", Subclass = "ready" } });
                    return true;
                }
                catch (RpcException)
                {
                    return false;
                }
            }, "the ingest answers");
        }
    }

    private (string Name, ServiceProcess Process) StartWorker(string? name = null) =>
        (name ?? $"delivery{++_workersStarted}", ServiceProcess.Start("CrnpCloud.Delivery", SystemOptions.Merge(_environment, _options.WorkerSettings)));

    /// <summary>Starts one more delivery worker and waits until it serves; returns its name.</summary>
    public async Task<string> AddWorkerAsync()
    {
        var worker = StartWorker();
        _workers.Add(worker);
        await worker.Process.PortOfAsync("http");
        return worker.Name;
    }

    /// <summary>Stops a delivery worker for good: SIGTERM (it hands its partitions back) or, with <paramref name="kill"/>, SIGKILL.</summary>
    public async Task StopWorkerAsync(string name, bool kill)
    {
        var (_, worker) = _workers.Single(w => w.Name == name);
        if (kill)
        {
            worker.Kill();
        }
        else
        {
            await worker.SignalAsync("TERM");
        }
        await worker.WaitForExitAsync(TimeSpan.FromSeconds(60));
        _workers.RemoveAll(w => w.Name == name);
        Collect(worker);
        await worker.DisposeAsync();
    }

    /// <summary>kill -9 of a worker, and a new one in its place (not waited for).</summary>
    public async Task KillWorkerAsync(int index)
    {
        var (name, worker) = _workers[index];
        Collect(worker);
        worker.Kill();
        await worker.DisposeAsync();
        _workers[index] = StartWorker(name);
        Faults++;
    }

    /// <summary>SIGTERM of the edge (it drains and exits), then a new one.</summary>
    public Task RestartEdgeAsync() => ReplaceEdgeAsync(kill: false);

    /// <summary>kill -9 of the edge (no drain: connections in progress are cut), then a new one.</summary>
    public Task KillEdgeAsync() => ReplaceEdgeAsync(kill: true);

    /// <summary>SIGTERM of the ingest, then a new one.</summary>
    public Task RestartIngestAsync() => ReplaceIngestAsync(kill: false);

    /// <summary>
    /// kill -9 of the ingest, then a new one. A publish in flight at the kill gets no answer, so it is
    /// not acknowledged and the publisher sends the same event (same idempotency key) again.
    /// </summary>
    public Task KillIngestAsync() => ReplaceIngestAsync(kill: true);

    private async Task ReplaceEdgeAsync(bool kill)
    {
        _edge = await ReplaceAsync(_edge ?? throw new InvalidOperationException("no edge process runs"), "CrnpCloud.Edge", kill);
        Volatile.Write(ref _edgePort, await _edge.PortOfAsync("crnp"));
    }

    private async Task ReplaceIngestAsync(bool kill)
    {
        _ingest = await ReplaceAsync(_ingest ?? throw new InvalidOperationException("no ingest process runs"), "CrnpCloud.Ingest", kill);
        Volatile.Write(ref _ingestPort, await _ingest.PortOfAsync("grpc"));
    }

    private async Task<ServiceProcess> ReplaceAsync(ServiceProcess process, string project, bool kill)
    {
        Collect(process);
        if (kill)
        {
            process.Kill();
        }
        await process.DisposeAsync(); // SIGTERM unless killed
        Faults++;
        return ServiceProcess.Start(project, _environment);
    }

    /// <summary>kill -9 of redis-server, then the same server again: only what fsync wrote survives.</summary>
    public async Task KillRedisAsync()
    {
        var redis = Redis ?? throw new InvalidOperationException("the system runs on no redis-server of its own or the caller's");
        await redis.KillAsync();
        await Task.Delay(500);
        await redis.StartAsync(CancellationToken.None);
        Faults++;
    }

    /// <summary>
    /// The resync rule at work (LeaseKeeper: the store instance changed): how many partitions the
    /// running workers resynchronised and how many current-state events they queued for it.
    /// </summary>
    public (int Partitions, int Events) Resyncs()
    {
        var partitions = 0;
        var events = 0;
        foreach (var line in _workers.SelectMany(w => w.Process.Output))
        {
            var match = ResyncLine.Match(line);
            if (match.Success)
            {
                partitions++;
                events += int.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture);
            }
        }
        return (partitions, events);
    }

    /// <summary>CPU seconds and peak RSS of every process of the system, redis-server included.</summary>
    public IReadOnlyList<(string Name, double CpuSeconds, double PeakRssMiB)> Usage()
    {
        var list = Processes.Select(p => (p.Name, p.Process.Usage())).Select(x => (x.Name, x.Item2.CpuSeconds, x.Item2.PeakRssMiB)).ToList();
        if (Redis is not null)
        {
            var (cpu, rss) = ProcUsage.Of(Redis.Pid);
            list.Add(("redis", cpu, rss));
        }
        return list;
    }

    /// <summary>Script calls redis-server ran and its CPU seconds; null without a redis-server.</summary>
    public async Task<RedisSample?> RedisSampleAsync()
    {
        if (Redis is null)
        {
            return null;
        }
        _admin ??= await ConnectionMultiplexer.ConnectAsync(Redis.ConnectionString + ",allowAdmin=true");
        var server = _admin.GetServer(Redis.ConnectionString);
        var stats = (await server.InfoAsync("commandstats")).SelectMany(g => g).ToDictionary(p => p.Key, p => p.Value);
        var cpu = (await server.InfoAsync("cpu")).SelectMany(g => g).ToDictionary(p => p.Key, p => p.Value);
        // cmdstat_<name>: calls=N,usec=U,... (the commands a script runs count under their own names).
        long Calls(string name) => stats.TryGetValue("cmdstat_" + name, out var v)
            ? long.Parse(v.Split(',')[0]["calls=".Length..], CultureInfo.InvariantCulture) : 0;
        return new RedisSample(Calls("evalsha") + Calls("eval"),
            double.Parse(cpu["used_cpu_sys"], CultureInfo.InvariantCulture) + double.Parse(cpu["used_cpu_user"], CultureInfo.InvariantCulture));
    }

    /// <summary>Keeps what a process logged as an unhandled exception or critical.</summary>
    private void Collect(ServiceProcess process) =>
        _problems.AddRange(process.Output.Concat(process.Errors).Where(l =>
            l.Contains("Unhandled exception", StringComparison.OrdinalIgnoreCase) || l.StartsWith("crit:", StringComparison.Ordinal)));

    /// <summary>Stops every process (SIGTERM), the clients, and the redis-server the system started itself.</summary>
    public async ValueTask DisposeAsync()
    {
        await StopPublishingAsync();
        _channel?.Dispose();
        _admin?.Dispose();
        foreach (var (_, process) in Processes)
        {
            await process.DisposeAsync();
        }
        foreach (var listener in _listeners)
        {
            await listener.DisposeAsync();
        }
        if (_ownRedis is not null)
        {
            await _ownRedis.DisposeAsync();
        }
    }
}

/// <summary>A sample of redis-server's counters: script calls (EVAL/EVALSHA) and CPU seconds.</summary>
public sealed record RedisSample(long Scripts, double Cpu);
