namespace CrnpCloud.Testing;

/// <summary>
/// What a <see cref="CrnpSystem"/> runs: the all-in-one host, or an edge, an ingest, delivery workers
/// and operators as processes on a store; the settings every process gets (environment variables,
/// <c>Crnp__Section__Key</c>), and those only workers or operators get. The presets are the setups the
/// tests and benchmarks share; <c>with</c> and <see cref="Set"/> change them.
/// </summary>
public sealed record SystemOptions
{
    private static readonly IReadOnlyDictionary<string, string> None = new Dictionary<string, string>();

    /// <summary>Edge, ingest and delivery in one process (CrnpCloud.AllInOne) on its in-memory store; the counts below do not apply.</summary>
    public bool AllInOne { get; init; }

    /// <summary>Whether an edge runs (the operator tests need none). An ingest always runs.</summary>
    public bool Edge { get; init; } = true;

    public int Workers { get; init; } = 2;

    /// <summary>Operator processes, identities <c>op-1</c>, <c>op-2</c>, ...; each is told the ingest's address.</summary>
    public int Operators { get; init; }

    /// <summary>A redis-server the caller runs (a test class fixture); with neither this nor <see cref="Store"/>, the system starts its own.</summary>
    public RedisServer? Redis { get; init; }

    /// <summary>Any store connection the caller runs (e.g. a <see cref="RedisSentinel"/>).</summary>
    public string? Store { get; init; }

    /// <summary>appendfsync of the redis-server the system starts itself: <c>always</c> or <c>everysec</c> (the chart's).</summary>
    public string Fsync { get; init; } = "always";

    /// <summary>The store's key prefix; a fresh one unless set.</summary>
    public string? KeyPrefix { get; init; }

    /// <summary>CRNP clients (<see cref="CrnpTestListener"/>) started and registered for cluster membership through the edge once the system is up.</summary>
    public int Clients { get; init; }

    /// <summary>Whether the start waits until the ingest accepts a publish (an <c>EC_Bench</c> event: only where no test reads the log).</summary>
    public bool WaitForIngest { get; init; }

    public IReadOnlyDictionary<string, string> Settings { get; init; } = None;

    public IReadOnlyDictionary<string, string> WorkerSettings { get; init; } = None;

    public IReadOnlyDictionary<string, string> OperatorSettings { get; init; } = None;

    /// <summary>End-to-end tests: edge, ingest and two workers on the caller's redis-server; a failed delivery is retried after 200 ms, a client gets 2 s.</summary>
    public static SystemOptions Processes(RedisServer redis) => new() { Redis = redis, Settings = QuickDelivery };

    /// <summary>End-to-end tests: the all-in-one host, delivery timed as in <see cref="Processes"/>.</summary>
    public static SystemOptions AllInOneHost() => new() { AllInOne = true, Settings = QuickDelivery };

    /// <summary>
    /// The chaos test, the Sentinel failover tests and <c>soak</c>: its own redis-server with an fsync per
    /// write (or the store given by <see cref="Store"/>), <paramref name="clients"/> registered clients,
    /// short leases and rescans, and clients retried every 200 ms for as long as a fault lasts.
    /// </summary>
    public static SystemOptions Chaos(int clients, int workers) => new()
    {
        Clients = clients,
        Workers = workers,
        Settings = new Dictionary<string, string>
        {
            ["Crnp__Delivery__LeaseTtl"] = "00:00:02",
            ["Crnp__Delivery__RescanInterval"] = "00:00:01",
            ["Crnp__Delivery__RetryCount"] = "1000",
            ["Crnp__Delivery__RetryInterval"] = "00:00:00.200",
            ["Crnp__Delivery__ClientTimeout"] = "00:00:02",
        },
    };

    /// <summary>
    /// The operator as deployed, without an edge: an ingest and a worker on the caller's redis-server,
    /// <paramref name="operators"/> operators on the Kubernetes API that <paramref name="kubeconfig"/>
    /// names (namespace <c>crnp</c>), settings refreshed every 200 ms, logs at Information.
    /// </summary>
    public static SystemOptions Operator(RedisServer redis, string kubeconfig, int operators = 1) => new()
    {
        Redis = redis,
        Edge = false,
        Workers = 1,
        Operators = operators,
        Settings = new Dictionary<string, string>
        {
            ["Crnp__Settings__RefreshInterval"] = "00:00:00.200",
            ["Logging__LogLevel__Default"] = "Information",
        },
        WorkerSettings = new Dictionary<string, string> { ["Crnp__Delivery__RetryCount"] = "3" },
        OperatorSettings = new Dictionary<string, string>
        {
            ["Crnp__Operator__Kubeconfig"] = kubeconfig,
            ["Crnp__Operator__Namespace"] = "crnp",
            ["Crnp__Operator__RetryPeriod"] = "00:00:00.500",
            ["Crnp__Operator__StatusInterval"] = "00:00:01",
        },
    };

    /// <summary>These options with <paramref name="settings"/> added to (or replacing) the settings of every process.</summary>
    public SystemOptions Set(IReadOnlyDictionary<string, string>? settings) => this with { Settings = Merge(Settings, settings) };

    public SystemOptions SetWorkers(IReadOnlyDictionary<string, string> settings) => this with { WorkerSettings = Merge(WorkerSettings, settings) };

    public SystemOptions SetOperators(IReadOnlyDictionary<string, string> settings) => this with { OperatorSettings = Merge(OperatorSettings, settings) };

    internal static Dictionary<string, string> Merge(IReadOnlyDictionary<string, string> first, IReadOnlyDictionary<string, string>? then)
    {
        var merged = new Dictionary<string, string>(first);
        foreach (var (key, value) in then ?? None)
        {
            merged[key] = value;
        }
        return merged;
    }

    private static Dictionary<string, string> QuickDelivery => new()
    {
        ["Crnp__Delivery__RetryInterval"] = "00:00:00.200",
        ["Crnp__Delivery__ClientTimeout"] = "00:00:02",
    };
}
