using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using CrnpCloud.Core;

namespace CrnpCloud.Operator;

/// <summary>
/// Per-client delivery metrics, for declared clients only (CrnpClients; never one series per dynamic
/// client), and at most <see cref="OperatorOptions.ClientMetricsLimit"/> of them: those with the largest
/// backlog, then the most failures. Only the leader has samples (it reconciles), so a follower exports
/// no per-client series; how many declared clients were left out is a gauge of its own.
/// </summary>
internal sealed class ClientHealth : IDisposable
{
    public const string Label = "crnpclient";

    private readonly Meter _meter = new("CrnpCloud.Operator");
    private readonly ConcurrentDictionary<string, Sample> _samples = new(StringComparer.Ordinal);
    private readonly int _limit;
    private readonly TimeProvider _time;

    public ClientHealth(OperatorOptions options, TimeProvider time)
    {
        _limit = options.ClientMetricsLimit;
        _time = time;
        _meter.CreateObservableGauge("crnp.operator.client.backlog",
            () => Top().Select(s => new Measurement<long>(s.Status.Backlog, Tag(s))),
            description: "Events queued for a declared client (CrnpClient), for the ClientMetricsLimit declared clients with the largest backlog");
        _meter.CreateObservableGauge("crnp.operator.client.consecutive_failures",
            () => Top().Select(s => new Measurement<long>(s.Status.ConsecutiveFailures, Tag(s))),
            description: "Failed delivery attempts to a declared client since its last delivery (same clients as crnp.operator.client.backlog)");
        // The unit is in the name as well: the exporter then adds no suffix, and the name reads the same everywhere.
        _meter.CreateObservableGauge("crnp.operator.client.last_delivery_age_seconds",
            () => Top().Where(s => s.Status.LastDelivery is not null)
                .Select(s => new Measurement<double>((_time.GetUtcNow() - s.Status.LastDelivery!.Value).TotalSeconds, Tag(s))),
            unit: "s",
            description: "Seconds since the last delivery to a declared client that has had one (same clients as crnp.operator.client.backlog)");
        _meter.CreateObservableGauge("crnp.operator.client.series_omitted",
            () => Math.Max(0, _samples.Count - _limit),
            description: "Declared clients beyond ClientMetricsLimit, without per-client series");
    }

    /// <summary>This instance's meter (tests listen to it alone).</summary>
    internal Meter Meter => _meter;

    /// <summary>The store's view of a declared client's deliveries, as last read by a reconcile.</summary>
    public void Observe(string key, DeliveryStatus status) => _samples[key] = new Sample(key, status);

    /// <summary>The client is not registered (removed, invalid, deleted): no series for it.</summary>
    public void Forget(string key) => _samples.TryRemove(key, out _);

    /// <summary>At the start and the end of a leadership term.</summary>
    public void Clear() => _samples.Clear();

    internal IReadOnlyList<Sample> Top() =>
        [.. _samples.Values
            .OrderByDescending(s => s.Status.Backlog)
            .ThenByDescending(s => s.Status.ConsecutiveFailures)
            .ThenBy(s => s.Key, StringComparer.Ordinal)
            .Take(_limit)];

    private static KeyValuePair<string, object?> Tag(Sample sample) => new(Label, sample.Key);

    public void Dispose() => _meter.Dispose();

    internal sealed record Sample(string Key, DeliveryStatus Status);
}
