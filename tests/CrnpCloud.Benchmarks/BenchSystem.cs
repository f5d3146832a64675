using System.Diagnostics;
using System.Globalization;
using System.Net;
using CrnpCloud.Ingest.V1;
using CrnpCloud.Protocol;
using CrnpCloud.Testing;
using Grpc.Core;
using Grpc.Net.Client;
using StackExchange.Redis;

namespace CrnpCloud.Benchmarks;

/// <summary>
/// CrnpCloud as real processes for a benchmark: redis-server, edge, ingest and N delivery workers
/// (mode <c>processes</c>), or the all-in-one host on its in-memory store (mode <c>allinone</c>).
/// Clients register through the edge with CRNP messages; events go in through the ingest gRPC API.
/// </summary>
internal sealed class BenchSystem : IAsyncDisposable
{
    private readonly RedisServer? _redis;
    private ConnectionMultiplexer? _admin;
    private readonly List<(string Name, ServiceProcess Process)> _services;
    private readonly GrpcChannel _channel;

    private IDictionary<string, string> _environment = new Dictionary<string, string>();

    private BenchSystem(RedisServer? redis, List<(string, ServiceProcess)> services, IPEndPoint edge, int ingestPort)
    {
        _redis = redis;
        _services = services;
        Edge = edge;
        _channel = GrpcChannel.ForAddress($"http://127.0.0.1:{ingestPort}");
        Ingest = new EventIngest.EventIngestClient(_channel);
    }

    public IPEndPoint Edge { get; }

    public EventIngest.EventIngestClient Ingest { get; }

    public RedisServer? Redis => _redis;

    public static async Task<BenchSystem> StartAsync(string mode, int workers, string fsync, IDictionary<string, string>? settings = null)
    {
        var common = new Dictionary<string, string>
        {
            ["Crnp__Edge__Port"] = "0",
            ["Crnp__Ingest__Port"] = "0",
            ["Crnp__Edge__MaxClients"] = "100000",
            ["Crnp__Delivery__ConnectionBudget"] = "256",
            ["Crnp__Ingest__MaxEventBytes"] = "65536",
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string>())
        {
            common[key] = value;
        }

        if (mode == "allinone")
        {
            var host = ServiceProcess.Start("CrnpCloud.AllInOne", "CrnpCloud.AllInOne", ["--edge-port", "0", "--ingest-port", "0", "--http-port", "0"], common);
            var system = new BenchSystem(null, [("allinone", host)], new IPEndPoint(IPAddress.Loopback, await host.PortOfAsync("crnp")), await host.PortOfAsync("grpc"));
            await system.WaitReadyAsync();
            return system;
        }

        var redis = await RedisServer.StartAsync(fsync);
        common["Crnp__Store__Redis"] = redis.ConnectionString;
        common["Crnp__Store__KeyPrefix"] = "crnp:";
        var services = new List<(string, ServiceProcess)>
        {
            ("edge", ServiceProcess.Start("CrnpCloud.Edge", common)),
            ("ingest", ServiceProcess.Start("CrnpCloud.Ingest", common)),
        };
        services.AddRange(Enumerable.Range(0, workers).Select(i => ($"delivery{i + 1}", ServiceProcess.Start("CrnpCloud.Delivery", common))));
        var edgePort = await services[0].Item2.PortOfAsync("crnp");
        var ingestPort = await services[1].Item2.PortOfAsync("grpc");
        foreach (var (_, worker) in services.Skip(2))
        {
            await worker.PortOfAsync("http");
        }
        var result = new BenchSystem(redis, services, new IPEndPoint(IPAddress.Loopback, edgePort), ingestPort) { _environment = common };
        await result.WaitReadyAsync();
        return result;
    }

    /// <summary>Starts one more delivery worker (processes mode) and waits until it serves; returns its name.</summary>
    public async Task<string> AddWorkerAsync()
    {
        var name = $"delivery{_services.Count(s => s.Name.StartsWith("delivery", StringComparison.Ordinal)) + 1}";
        var worker = ServiceProcess.Start("CrnpCloud.Delivery", _environment);
        _services.Add((name, worker));
        await worker.PortOfAsync("http");
        return name;
    }

    /// <summary>Stops a delivery worker: SIGTERM (it hands its partitions back) or, with <paramref name="kill"/>, SIGKILL.</summary>
    public async Task StopWorkerAsync(string name, bool kill)
    {
        var (_, worker) = _services.Single(s => s.Name == name);
        if (kill)
        {
            worker.Kill();
        }
        else
        {
            await worker.SignalAsync("TERM");
        }
        await worker.WaitForExitAsync(TimeSpan.FromSeconds(60));
        _services.RemoveAll(s => s.Name == name);
        await worker.DisposeAsync();
    }

    private Task WaitReadyAsync() => Eventually.TrueAsync(async () =>
    {
        try
        {
            await Ingest.PublishAsync(new PublishRequest { Event = new Event { Class = "EC_Bench", Subclass = "ready" } });
            return true;
        }
        catch (RpcException)
        {
            return false;
        }
    }, "the ingest answers");

    /// <summary>Registers a client for cluster membership through the edge, as a CRNP client does.</summary>
    public async Task RegisterAsync(int callbackPort)
    {
        var reply = await CrnpTestClient.RegisterAsync(Edge, new CallbackRegistration(RegistrationType.AddClient, callbackPort,
            EquatableList.Of(new EventRegistration("EC_Cluster", "ESC_cluster_membership"))));
        if (reply.Status != Protocol.StatusCode.Ok)
        {
            throw new InvalidOperationException($"registration of port {callbackPort} refused: {reply.Status} {reply.Message}");
        }
    }

    public async Task RegisterAllAsync(IEnumerable<int> ports, int concurrency = 16)
    {
        await Parallel.ForEachAsync(ports, new ParallelOptions { MaxDegreeOfParallelism = concurrency }, async (port, _) => await RegisterAsync(port));
    }

    /// <summary>CPU seconds and peak RSS of every process of the system (and of this benchmark process).</summary>
    public IReadOnlyList<(string Name, double CpuSeconds, double PeakRssMiB)> Usage()
    {
        var list = _services.Select(s => (s.Name, s.Process.Usage())).Select(x => (x.Name, x.Item2.CpuSeconds, x.Item2.PeakRssMiB)).ToList();
        if (_redis is not null)
        {
            var (cpu, rss) = ProcUsage.Of(_redis.Pid);
            list.Add(("redis", cpu, rss));
        }
        var (ownCpu, ownRss) = ProcUsage.Of(Environment.ProcessId);
        list.Add(("bench(receivers+publisher)", ownCpu, ownRss));
        return list;
    }

    /// <summary>Script calls Redis ran and its CPU seconds; null without Redis.</summary>
    public async Task<RedisSample?> RedisSampleAsync()
    {
        if (_redis is null)
        {
            return null;
        }
        _admin ??= await ConnectionMultiplexer.ConnectAsync(_redis.ConnectionString + ",allowAdmin=true");
        var server = _admin.GetServer(_redis.ConnectionString);
        var stats = (await server.InfoAsync("commandstats")).SelectMany(g => g).ToDictionary(p => p.Key, p => p.Value);
        var cpu = (await server.InfoAsync("cpu")).SelectMany(g => g).ToDictionary(p => p.Key, p => p.Value);
        // cmdstat_<name>: calls=N,usec=U,... (the commands a script runs count under their own names).
        long Calls(string name) => stats.TryGetValue("cmdstat_" + name, out var v)
            ? long.Parse(v.Split(',')[0]["calls=".Length..], CultureInfo.InvariantCulture) : 0;
        return new RedisSample(Calls("evalsha") + Calls("eval"),
            double.Parse(cpu["used_cpu_sys"], CultureInfo.InvariantCulture) + double.Parse(cpu["used_cpu_user"], CultureInfo.InvariantCulture));
    }

    /// <summary>Redis figures per delivery between two samples.</summary>
    public static string FormatRedisPerDelivery(RedisSample? before, RedisSample? after, long deliveries) =>
        before is null || after is null || deliveries == 0 ? ""
        : string.Create(CultureInfo.InvariantCulture,
            $"redis per delivery: {(after.Scripts - before.Scripts) / (double)deliveries:F2} script calls, {(after.Cpu - before.Cpu) * 1e6 / deliveries:F1} us CPU");

    public static string FormatUsage(IReadOnlyList<(string Name, double CpuSeconds, double PeakRssMiB)> before,
        IReadOnlyList<(string Name, double CpuSeconds, double PeakRssMiB)> after, double seconds) =>
        string.Join(", ", after.Select(a =>
        {
            var cpu = a.CpuSeconds - before.FirstOrDefault(b => b.Name == a.Name).CpuSeconds;
            return string.Create(CultureInfo.InvariantCulture, $"{a.Name} {cpu / seconds * 100:F0}% cpu {a.PeakRssMiB:F0} MiB");
        }));

    public async ValueTask DisposeAsync()
    {
        _channel.Dispose();
        _admin?.Dispose();
        foreach (var (_, process) in _services)
        {
            await process.DisposeAsync();
        }
        if (_redis is not null)
        {
            await _redis.DisposeAsync();
        }
    }
}

/// <summary>
/// Every published event and every delivery. A run is valid only when every client received every
/// event it should, at least once and in publish order; duplicates are counted, and one that arrives
/// after a newer event counts as out of order too.
/// </summary>
internal sealed class Ledger
{
    private readonly Dictionary<long, long> _published = []; // bench sequence -> publish timestamp
    private readonly Dictionary<long, long> _order = []; // bench sequence -> the store's global sequence
    private readonly Lock _lock = new();

    public void RecordPublished(long sequence, long timestamp)
    {
        lock (_lock)
        {
            _published[sequence] = timestamp;
        }
    }

    /// <summary>The global sequence the store gave the event (the ingest's reply): publish order, whatever the stream.</summary>
    public void RecordOrder(long sequence, long storeSequence)
    {
        lock (_lock)
        {
            _order[sequence] = storeSequence;
        }
    }

    /// <summary>A receiver that keeps of each event only what <see cref="Check"/> reads (see <see cref="CrnpTestListener.Keep"/>).</summary>
    public static CrnpTestListener Receiver()
    {
        var listener = CrnpTestListener.Start();
        listener.Keep = evt => evt.Class != "EC_Cluster" ? evt : new CrnpEvent("EC_Cluster", evt.Subclass, evt.Vendor, evt.Publisher,
            evt.NameValues.First(p => p.Name == "ev_bench_seq"));
        return listener;
    }

    public static long SequenceOf(CrnpEvent evt) =>
        long.Parse(evt.NameValues.First(p => p.Name == "ev_bench_seq").Values[0], CultureInfo.InvariantCulture);

    /// <summary>Checks each receiver's deliveries against the published events; returns latencies of first receipts.</summary>
    public Result Check(IEnumerable<CrnpTestListener> receivers)
    {
        var latencies = new List<double>();
        long missing = 0, outOfOrder = 0, duplicates = 0, unknown = 0, firstReceipts = 0;
        long lastReceipt = 0;
        foreach (var receiver in receivers)
        {
            var seen = new HashSet<long>();
            var max = long.MinValue;
            foreach (var (evt, at) in receiver.Received)
            {
                if (evt.Class != "EC_Cluster")
                {
                    continue;
                }
                var seq = SequenceOf(evt);
                if (!_published.TryGetValue(seq, out var sent))
                {
                    unknown++;
                    continue;
                }
                var order = _order[seq];
                if (!seen.Add(seq))
                {
                    duplicates++;
                    if (order < max)
                    {
                        // An older event again after a newer one: the client would see state go back.
                        outOfOrder++;
                    }
                    continue;
                }
                if (order < max)
                {
                    outOfOrder++;
                }
                max = Math.Max(max, order);
                firstReceipts++;
                lastReceipt = Math.Max(lastReceipt, at);
                latencies.Add(Stopwatch.GetElapsedTime(sent, at).TotalMilliseconds);
            }
            missing += _published.Keys.Count(k => !seen.Contains(k));
        }
        return new Result(firstReceipts, missing, outOfOrder, duplicates, unknown, latencies, lastReceipt);
    }

    /// <summary>Every client's first receipt of each event: which client, when published, when received.</summary>
    public IEnumerable<(int Client, long Published, long Received)> FirstReceipts(IReadOnlyList<CrnpTestListener> receivers)
    {
        for (var i = 0; i < receivers.Count; i++)
        {
            var seen = new HashSet<long>();
            foreach (var (evt, at) in receivers[i].Received)
            {
                if (evt.Class == "EC_Cluster" && seen.Add(SequenceOf(evt)) && _published.TryGetValue(SequenceOf(evt), out var sent))
                {
                    yield return (i, sent, at);
                }
            }
        }
    }

    /// <summary>Per second since <paramref name="start"/> (by publish time): first receipts and their worst latency, for the timeline.</summary>
    public IEnumerable<string> WorstBySecond(IEnumerable<CrnpTestListener> receivers, long start)
    {
        var worst = new SortedDictionary<int, (int Count, double Max)>();
        foreach (var receiver in receivers)
        {
            var seen = new HashSet<long>();
            foreach (var (evt, at) in receiver.Received)
            {
                if (evt.Class != "EC_Cluster" || !seen.Add(SequenceOf(evt)) || !_published.TryGetValue(SequenceOf(evt), out var sent))
                {
                    continue;
                }
                var second = (int)Stopwatch.GetElapsedTime(start, sent).TotalSeconds;
                var (count, max) = worst.GetValueOrDefault(second);
                worst[second] = (count + 1, Math.Max(max, Stopwatch.GetElapsedTime(sent, at).TotalMilliseconds));
            }
        }
        return worst.Select(w => string.Create(CultureInfo.InvariantCulture, $"{w.Key}s:{w.Value.Max:F0}"));
    }

    public sealed record Result(long Delivered, long Missing, long OutOfOrder, long Duplicates, long Unknown, List<double> Latencies, long LastReceipt)
    {
        public bool Valid => Missing == 0 && OutOfOrder == 0 && Unknown == 0;

        public override string ToString() =>
            $"ledger: {Delivered} first deliveries, missing {Missing}, out of order {OutOfOrder}, duplicates {Duplicates}, unknown {Unknown} -> {(Valid ? "VALID" : "INVALID")}";
    }
}

/// <summary>A sample of Redis's counters: script calls (EVAL/EVALSHA) and CPU seconds.</summary>
internal sealed record RedisSample(long Scripts, double Cpu);
