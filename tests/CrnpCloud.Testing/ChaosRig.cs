using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using CrnpCloud.Protocol;

namespace CrnpCloud.Testing;

/// <summary>
/// CrnpCloud as processes on a real redis-server (an fsync per write) or on a store the caller runs
/// (a Sentinel topology), with CRNP clients registered through the edge, a publisher that counts an
/// event as acknowledged only when the ingest answered, faults on demand (kill -9 of a worker, of the
/// edge, of the ingest; edge/ingest restarts with SIGTERM; redis-server kill -9), and a ledger check.
/// Used by the chaos test, the Sentinel failover tests and by the soak command.
/// </summary>
public sealed class ChaosRig : IAsyncDisposable
{
    private readonly Dictionary<string, string> _env;
    private readonly List<ServiceProcess> _workers = [];
    private readonly List<int> _acknowledged = [];
    private readonly List<long> _acknowledgedAt = [];
    private readonly List<string> _problems = [];
    private readonly CancellationTokenSource _stop = new();
    private ServiceProcess _edge = null!;
    private ServiceProcess _ingest = null!;
    private Task _publisher = Task.CompletedTask;
    private int _ingestPort;

    private readonly RedisServer? _redis;

    private ChaosRig(RedisServer? redis, Dictionary<string, string> env, List<CrnpTestListener> listeners)
    {
        _redis = redis;
        _env = env;
        Listeners = listeners;
    }

    /// <summary>The rig's own redis-server (not there when the caller runs the store).</summary>
    public RedisServer Redis => _redis ?? throw new InvalidOperationException("this rig runs on the caller's store");

    public IReadOnlyList<CrnpTestListener> Listeners { get; }

    public IPEndPoint Edge { get; private set; } = null!;

    public int Faults { get; private set; }

    public int Acknowledged
    {
        get
        {
            lock (_acknowledged)
            {
                return _acknowledged.Count;
            }
        }
    }

    /// <summary>Every CrnpCloud process now running (for CPU and memory figures).</summary>
    public IEnumerable<(string Name, ServiceProcess Process)> Processes =>
        new[] { ("edge", _edge), ("ingest", _ingest) }.Concat(_workers.Select((w, i) => ($"delivery{i + 1}", w)));

    public static async Task<ChaosRig> StartAsync(int clients, int workers)
    {
        var redis = await RedisServer.StartAsync("always");
        try
        {
            return await StartAsync(clients, workers, redis, redis.ConnectionString, new Dictionary<string, string>());
        }
        catch
        {
            await redis.DisposeAsync();
            throw;
        }
    }

    /// <summary>
    /// The services on a store the caller runs and disposes (e.g. a <see cref="RedisSentinel"/>), with
    /// extra settings in the environment (e.g. <c>Crnp__Store__MinReplicas</c>).
    /// </summary>
    public static Task<ChaosRig> StartAsync(int clients, int workers, string storeConnection, IReadOnlyDictionary<string, string> settings) =>
        StartAsync(clients, workers, null, storeConnection, settings);

    private static async Task<ChaosRig> StartAsync(int clients, int workers, RedisServer? redis, string storeConnection, IReadOnlyDictionary<string, string> settings)
    {
        var env = new Dictionary<string, string>
        {
            ["Crnp__Store__Redis"] = storeConnection,
            ["Crnp__Store__KeyPrefix"] = RedisStores.UniquePrefix(),
            ["Crnp__Edge__Port"] = "0",
            ["Crnp__Ingest__Port"] = "0",
            ["Crnp__Delivery__LeaseTtl"] = "00:00:02",
            ["Crnp__Delivery__RescanInterval"] = "00:00:01",
            ["Crnp__Delivery__RetryCount"] = "1000",
            ["Crnp__Delivery__RetryInterval"] = "00:00:00.200",
            ["Crnp__Delivery__ClientTimeout"] = "00:00:02",
        };
        foreach (var (key, value) in settings)
        {
            env[key] = value;
        }
        var rig = new ChaosRig(redis, env, [.. Enumerable.Range(0, clients).Select(_ => CrnpTestListener.Start())]);
        rig._edge = ServiceProcess.Start("CrnpCloud.Edge", env);
        rig._ingest = ServiceProcess.Start("CrnpCloud.Ingest", env);
        for (var i = 0; i < workers; i++)
        {
            rig._workers.Add(ServiceProcess.Start("CrnpCloud.Delivery", env));
        }
        rig.Edge = new IPEndPoint(IPAddress.Loopback, await rig._edge.PortOfAsync("crnp"));
        rig._ingestPort = await rig._ingest.PortOfAsync("grpc");
        foreach (var listener in rig.Listeners)
        {
            var reply = await rig.RegisterAsync(Membership(RegistrationType.AddClient, listener.Address.Port), TimeSpan.FromSeconds(60));
            if (reply.Status != StatusCode.Ok)
            {
                throw new InvalidOperationException($"registration refused: {reply.Status} {reply.Message}");
            }
        }
        return rig;
    }

    private static CallbackRegistration Membership(RegistrationType type, int port) =>
        new(type, port, EquatableList.Of(new EventRegistration("EC_Cluster", "ESC_cluster_membership")));

    /// <summary>
    /// Publishes events 0, 1, 2, ... one at a time: <paramref name="publish"/> (ingest port, number)
    /// must carry the number in <c>state_list[0]</c> and use it in an idempotency key; a throw means
    /// not acknowledged, and the same number is tried again.
    /// </summary>
    public void StartPublishing(Func<int, int, CancellationToken, Task> publish, TimeSpan pause) =>
        StartPublishing(publish, _ => pause);

    /// <summary>
    /// <see cref="StartPublishing(Func{int, int, CancellationToken, Task}, TimeSpan)"/> at a steady
    /// rate: event n is sent no earlier than n / rate seconds after the start; behind schedule (after
    /// an outage) it catches up without pausing.
    /// </summary>
    public void StartPublishingAt(Func<int, int, CancellationToken, Task> publish, double eventsPerSecond)
    {
        var start = Stopwatch.GetTimestamp();
        StartPublishing(publish, n =>
        {
            var due = TimeSpan.FromSeconds(n / eventsPerSecond) - Stopwatch.GetElapsedTime(start);
            return due > TimeSpan.Zero ? due : TimeSpan.Zero;
        });
    }

    private void StartPublishing(Func<int, int, CancellationToken, Task> publish, Func<int, TimeSpan> pauseBefore)
    {
        _publisher = Task.Run(async () =>
        {
            var n = 0;
            while (!_stop.IsCancellationRequested)
            {
                try
                {
                    await publish(Volatile.Read(ref _ingestPort), n, _stop.Token);
                    lock (_acknowledged)
                    {
                        _acknowledged.Add(n);
                        _acknowledgedAt.Add(Stopwatch.GetTimestamp());
                    }
                    n++;
                    var pause = pauseBefore(n);
                    if (pause > TimeSpan.Zero)
                    {
                        await Task.Delay(pause, _stop.Token);
                    }
                }
                catch (OperationCanceledException) when (_stop.IsCancellationRequested)
                {
                    return;
                }
                catch (Exception)
                {
                    await Task.Delay(100); // ingest or Redis away: the same event again
                }
            }
        });
    }

    /// <summary>
    /// The longest time without an acknowledgement that ended after <paramref name="since"/> (a
    /// <see cref="Stopwatch.GetTimestamp"/> value): how long publishing was unavailable around a fault.
    /// </summary>
    public TimeSpan LongestAcknowledgementGap(long since)
    {
        lock (_acknowledged)
        {
            var longest = TimeSpan.Zero;
            for (var i = 1; i < _acknowledgedAt.Count; i++)
            {
                if (_acknowledgedAt[i] > since)
                {
                    var gap = Stopwatch.GetElapsedTime(_acknowledgedAt[i - 1], _acknowledgedAt[i]);
                    longest = gap > longest ? gap : longest;
                }
            }
            return longest;
        }
    }

    /// <summary>
    /// The resync rule at work (LeaseKeeper: the store instance changed): how many partitions the
    /// running workers resynchronised and how many current-state events they queued for it.
    /// </summary>
    public (int Partitions, int Events) Resyncs()
    {
        var partitions = 0;
        var events = 0;
        foreach (var line in _workers.SelectMany(w => w.Output))
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

    private static readonly System.Text.RegularExpressions.Regex ResyncLine =
        new(@"the store changed from \S+ to \S+ \(failover or restart\); queued (\d+) ", System.Text.RegularExpressions.RegexOptions.Compiled);

    public Task WaitForProgressAsync(int more, string after, TimeSpan? timeout = null)
    {
        var target = Acknowledged + more;
        return Eventually.TrueAsync(() => Task.FromResult(Acknowledged >= target), $"{more} more events are acknowledged after {after}", timeout ?? TimeSpan.FromSeconds(60));
    }

    public async Task KillWorkerAsync(int index)
    {
        var worker = _workers[index];
        Collect(worker);
        worker.Kill();
        await worker.DisposeAsync();
        _workers[index] = ServiceProcess.Start("CrnpCloud.Delivery", _env);
        Faults++;
    }

    public async Task RestartEdgeAsync()
    {
        Collect(_edge);
        await _edge.DisposeAsync(); // SIGTERM: drains and exits
        _edge = ServiceProcess.Start("CrnpCloud.Edge", _env);
        Edge = new IPEndPoint(IPAddress.Loopback, await _edge.PortOfAsync("crnp"));
        Faults++;
    }

    public async Task RestartIngestAsync()
    {
        Collect(_ingest);
        await _ingest.DisposeAsync();
        _ingest = ServiceProcess.Start("CrnpCloud.Ingest", _env);
        Volatile.Write(ref _ingestPort, await _ingest.PortOfAsync("grpc"));
        Faults++;
    }

    /// <summary>kill -9 of the edge (no drain: connections in progress are cut), then a new one.</summary>
    public async Task KillEdgeAsync()
    {
        Collect(_edge);
        _edge.Kill();
        await _edge.DisposeAsync();
        _edge = ServiceProcess.Start("CrnpCloud.Edge", _env);
        Edge = new IPEndPoint(IPAddress.Loopback, await _edge.PortOfAsync("crnp"));
        Faults++;
    }

    /// <summary>
    /// kill -9 of the ingest, then a new one. A publish in flight at the kill gets no answer, so it is
    /// not acknowledged and the publisher sends the same event (same idempotency key) again.
    /// </summary>
    public async Task KillIngestAsync()
    {
        Collect(_ingest);
        _ingest.Kill();
        await _ingest.DisposeAsync();
        _ingest = ServiceProcess.Start("CrnpCloud.Ingest", _env);
        Volatile.Write(ref _ingestPort, await _ingest.PortOfAsync("grpc"));
        Faults++;
    }

    /// <summary>kill -9 of redis-server, then the same server again: only what fsync wrote survives.</summary>
    public async Task KillRedisAsync()
    {
        await Redis.KillAsync();
        await Task.Delay(500);
        await Redis.StartAsync(CancellationToken.None);
        Faults++;
    }

    /// <summary>Stops publishing, waits for recovery and checks the ledger.</summary>
    public async Task<Report> StopAndCheckAsync(TimeSpan recovery)
    {
        await _stop.CancelAsync();
        await _publisher;
        int[] acked;
        lock (_acknowledged)
        {
            acked = [.. _acknowledged];
        }
        var missing = 0L;
        var lost = 0;
        try
        {
            await Eventually.TrueAsync(() => Task.FromResult(Listeners.All(l => acked.All(new HashSet<int>(Numbers(l)).Contains))),
                "every client has every acknowledged event", recovery);
        }
        catch (TimeoutException)
        {
            missing = Listeners.Sum(l => acked.Except(Numbers(l)).LongCount());
            var received = Listeners.Select(l => new HashSet<int>(Numbers(l))).ToList();
            lost = acked.Count(n => received.Any(r => !r.Contains(n)));
        }

        long duplicates = 0;
        var backwards = new List<string>();
        foreach (var listener in Listeners)
        {
            var seen = new HashSet<int>();
            var max = -1;
            foreach (var number in Numbers(listener))
            {
                if (!seen.Add(number))
                {
                    duplicates++;
                    if (number < max)
                    {
                        // An older event again after a newer one: the client would see state go back.
                        backwards.Add($"{listener.Address}: {number} repeated after {max}");
                    }
                    continue;
                }
                if (number < max)
                {
                    backwards.Add($"{listener.Address}: {number} arrived after {max}");
                }
                max = Math.Max(max, number);
            }
        }

        // ADD_EVENTS succeeds only for a registered client. RETRY (the store is not back yet, e.g. after a
        // redis-server restart just before) is asked again until the deadline, as a CRNP client would.
        var unregistered = new List<string>();
        var registering = Stopwatch.StartNew();
        foreach (var listener in Listeners)
        {
            var again = await RegisterAsync(Membership(RegistrationType.AddEvents, listener.Address.Port), recovery - registering.Elapsed);
            if (again.Status != StatusCode.Ok)
            {
                unregistered.Add($"{listener.Address}: {again.Status} {again.Message}");
            }
        }
        foreach (var process in Processes.Select(p => p.Process))
        {
            Collect(process);
        }
        return new Report(acked.Length, Listeners.Count, missing, backwards, duplicates, unregistered, Faults, [.. _problems]) { LostEvents = lost };
    }

    /// <summary>
    /// Sends a registration to the current edge; a RETRY answer, or no answer (the edge restarting), is
    /// tried again every 250 ms for up to <paramref name="patience"/>, then the last answer is returned
    /// (no answer at all: a <see cref="StatusCode.Retry"/> reply naming the error).
    /// </summary>
    private async Task<CrnpReply> RegisterAsync(CallbackRegistration message, TimeSpan patience)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            CrnpReply reply;
            try
            {
                reply = await CrnpTestClient.RegisterAsync(Edge, message);
            }
            catch (Exception ex) when (ex is SocketException or IOException or OperationCanceledException)
            {
                reply = new CrnpReply(StatusCode.Retry, $"no answer from the edge: {ex.Message}");
            }
            if (reply.Status != StatusCode.Retry || clock.Elapsed >= patience)
            {
                return reply.Status == StatusCode.Retry
                    ? reply with { Message = $"{reply.Message} (still RETRY after {clock.Elapsed.TotalSeconds:F0} s)" }
                    : reply;
            }
            await Task.Delay(250);
        }
    }

    private void Collect(ServiceProcess process) =>
        _problems.AddRange(process.Output.Concat(process.Errors).Where(l =>
            l.Contains("Unhandled exception", StringComparison.OrdinalIgnoreCase) || l.StartsWith("crit:", StringComparison.Ordinal)));

    public static List<int> Numbers(CrnpTestListener listener) =>
        [.. listener.Events.Where(e => e.Class == "EC_Cluster").Select(e => int.Parse(e.NameValues.Single(p => p.Name == "state_list").Values[0], CultureInfo.InvariantCulture))];

    public async ValueTask DisposeAsync()
    {
        _stop.Dispose();
        foreach (var (_, process) in Processes)
        {
            await process.DisposeAsync();
        }
        foreach (var listener in Listeners)
        {
            await listener.DisposeAsync();
        }
        if (_redis is not null)
        {
            await _redis.DisposeAsync();
        }
    }

    /// <summary>What a chaos run did to the ledger.</summary>
    public sealed record Report(int Acknowledged, int Clients, long Missing, IReadOnlyList<string> Backwards, long Duplicates,
        IReadOnlyList<string> Unregistered, int Faults, IReadOnlyList<string> Problems)
    {
        /// <summary>Acknowledged events that at least one client never received.</summary>
        public int LostEvents { get; init; }

        public bool Clean => Missing == 0 && Backwards.Count == 0 && Unregistered.Count == 0 && Problems.Count == 0;

        public override string ToString() =>
            $"ledger: {Acknowledged} acknowledged events x {Clients} clients after {Faults} faults; missing {Missing} ({LostEvents} events), backwards {Backwards.Count}, " +
            $"duplicates {Duplicates}, registrations lost {Unregistered.Count}, unhandled exceptions logged {Problems.Count} -> {(Clean ? "CLEAN" : "FAILED")}";
    }
}
