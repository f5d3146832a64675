using System.ComponentModel.DataAnnotations;
using CrnpCloud.Core;

namespace CrnpCloud.Delivery;

/// <summary>Settings of a delivery worker (PROTOCOL.md sections 4 and 7), section <c>Crnp:Delivery</c>.</summary>
public sealed class DeliveryOptions
{
    public const string Section = "Crnp:Delivery";

    /// <summary>Retries of a failed delivery before the client is removed (client_retry_count).</summary>
    [Range(SettingLimits.RetryCountMin, SettingLimits.RetryCountMax)]
    public int RetryCount { get; set; } = 3;

    /// <summary>Time between retries (client_retry_interval).</summary>
    [DurationRange(SettingLimits.RetryIntervalMin, SettingLimits.RetryIntervalMax)]
    public TimeSpan RetryInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Time allowed to connect and write one event (client_timeout): it bounds the whole attempt.</summary>
    [DurationRange(SettingLimits.ClientTimeoutMin, SettingLimits.ClientTimeoutMax)]
    public TimeSpan ClientTimeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// Time allowed for the TCP connect alone (within <see cref="ClientTimeout"/>). A reachable client
    /// answers a SYN in a round trip; one that has not answered by then is dead, unplugged or behind a
    /// dropping firewall, and the attempt fails (and is retried) instead of waiting out the client timeout.
    /// </summary>
    [DurationRange("10ms", "1h")]
    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// The most a connect timeout and a retry interval are stretched, at random, as a fraction of
    /// themselves (0.1 = up to 10% longer; never shorter). Hundreds of clients behind one failed switch
    /// start their attempts in the same instant; stretched, their timeouts and retries spread over a
    /// window instead of landing on the worker (and the store) all at once. 0 = exact.
    /// </summary>
    [Range(0.0, 1.0)]
    public double Jitter { get; set; } = 0.1;

    /// <summary>Stretches <paramref name="wait"/> by a random fraction of up to <see cref="Jitter"/>.</summary>
    public TimeSpan Jittered(TimeSpan wait) => Jitter <= 0 ? wait : wait * (1 + (Random.Shared.NextDouble() * Jitter));

    /// <summary>Most delivery connections this worker has open at once to clients in good standing (their last attempt got through).</summary>
    [Range(SettingLimits.ConnectionBudgetMin, SettingLimits.ConnectionBudgetMax)]
    public int ConnectionBudget { get; set; } = 256;

    /// <summary>
    /// Most delivery connections this worker has open at once to the other clients: new to this worker
    /// (which take the main budget, watched, only when this one is full), or whose last attempt failed
    /// or was put off. Kept apart from
    /// <see cref="ConnectionBudget"/>, so clients that cannot be reached never take the capacity healthy
    /// ones need. A connecting socket costs a descriptor and a few KiB of kernel memory.
    /// </summary>
    [Range(1, 100_000)]
    public int SuspectBudget { get; set; } = 1024;

    /// <summary>
    /// An attempt from <see cref="ConnectionBudget"/> still unfinished after this long moves to
    /// <see cref="SuspectBudget"/>. If that is full, a client new to this worker that has not even
    /// connected is put off and made again from there (not counted as a failed attempt); one in good
    /// standing finishes where it is (a failure then costs it its standing).
    /// </summary>
    [DurationRange("10ms", "10m")]
    public TimeSpan SuspectAfter { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>How long a partition lease lasts without renewal; a dead worker's partitions move after at most this.</summary>
    [DurationRange("300ms", "10m")]
    public TimeSpan LeaseTtl { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How often each owned partition is scanned for work, to recover wake-ups lost while the store was away.</summary>
    [DurationRange("100ms", "1h")]
    public TimeSpan RescanInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Queue entries read per store round trip.</summary>
    [Range(1, 1000)]
    public int BatchSize { get; set; } = 32;

    /// <summary>Per-client retry policies (from CrnpClient resources, through the live settings), keyed by <c>ip:port</c>.</summary>
    public Dictionary<string, Core.ClientRetry> ClientRetry { get; } = new(StringComparer.Ordinal);

    /// <summary>The retry count and interval for one client: its own where it has them, else the worker's.</summary>
    public (int Count, TimeSpan Interval) RetryFor(Core.CallbackAddress client) =>
        ClientRetry.Count > 0 && ClientRetry.TryGetValue(client.ToString(), out var own)
            ? (own.Count ?? RetryCount, own.Interval ?? RetryInterval)
            : (RetryCount, RetryInterval);

    /// <summary>This worker's identity in leases; empty = host name, process id and a random suffix.</summary>
    public string WorkerId { get; set; } = "";
}
