using System.Diagnostics;
using System.Diagnostics.Metrics;
using CrnpCloud.Core;

namespace CrnpCloud.Delivery;

/// <summary>Spans and meters of the delivery pool. A delivery span continues the trace of the publish that made the event.</summary>
internal sealed class DeliveryTelemetry
{
    public const string Name = "CrnpCloud.Delivery";

    public static readonly ActivitySource Source = new(Name);

    private readonly Counter<long> _deliveries;
    private readonly Counter<long> _retries;
    private readonly Counter<long> _removals;
    private readonly Counter<long> _demotions;
    private readonly Histogram<double> _queueTime;
    private readonly Histogram<double> _connectionTime;
    private readonly Histogram<int> _ackBatch;
    private readonly System.Collections.Concurrent.ConcurrentDictionary<int, long> _backlog = new();
    private long _ownedPartitions;
    private long _activeClients;

    internal DeliveryTelemetry(IMeterFactory meters, ConnectionPools pools)
        : this(meters.Create(Name), pools)
    {
    }

    /// <summary>On a meter of the caller's: <see cref="DeliveryWarmUp"/> records on one nobody exports.</summary>
    internal DeliveryTelemetry(Meter meter, ConnectionPools pools)
    {
        _demotions = meter.CreateCounter<long>("crnp.delivery.suspect_moves", description: "Attempts unfinished after SuspectAfter, by what happened (moved to the suspect budget, put off until it has room)");
        meter.CreateObservableGauge("crnp.delivery.connections", () =>
        {
            var (main, suspect) = pools.InUse;
            return new[]
            {
                new Measurement<long>(main, new KeyValuePair<string, object?>("budget", "main")),
                new Measurement<long>(suspect, new KeyValuePair<string, object?>("budget", "suspect")),
            };
        }, description: "Delivery connections open now, by budget (main: clients in good standing; suspect: new to the worker, last attempt failed or put off)");
        _deliveries = meter.CreateCounter<long>("crnp.delivery.attempts", description: "Delivery attempts, by result (ok, failed)");
        _retries = meter.CreateCounter<long>("crnp.delivery.retries", description: "Attempts that were retries of a failed delivery");
        _removals = meter.CreateCounter<long>("crnp.delivery.client_removals", description: "Clients removed after every retry failed");
        _queueTime = meter.CreateHistogram<double>("crnp.delivery.queue_time", "ms", "From publish to successful delivery");
        _connectionTime = meter.CreateHistogram<double>("crnp.delivery.connection_time", "ms", "Connect, write and close of one attempt");
        _ackBatch = meter.CreateHistogram<int>("crnp.delivery.ack_batch", unit: null, "Acks committed together in one store call",
            advice: new InstrumentAdvice<int> { HistogramBucketBoundaries = [1, 2, 4, 8, 16, 32, 64] });
        meter.CreateObservableGauge("crnp.delivery.owned_partitions", () => Interlocked.Read(ref _ownedPartitions), description: "Partitions this worker holds");
        meter.CreateObservableGauge("crnp.delivery.active_clients", () => Interlocked.Read(ref _activeClients), description: "Clients with a delivery loop running");
        meter.CreateObservableGauge("crnp.delivery.backlog", () => _backlog.Select(p => new Measurement<long>(p.Value, new KeyValuePair<string, object?>("partition", p.Key))),
            description: "Queued entries per owned partition, as of its last rescan");
    }

    public static Activity? StartDelivery(QueueEntry entry, CallbackAddress client, int attempt)
    {
        if (!Source.HasListeners())
        {
            return null;
        }
        ActivityContext.TryParse(entry.Event.TraceParent, null, isRemote: true, out var parent);
        var activity = Source.StartActivity("crnp.deliver", ActivityKind.Producer, parent);
        activity?.SetTag("crnp.client", client.ToString());
        activity?.SetTag("crnp.event.sequence", entry.Event.Sequence);
        activity?.SetTag("crnp.delivery.attempt", attempt);
        return activity;
    }

    public void Attempted(bool ok, int attempt, TimeSpan connection, TimeSpan? sincePublish)
    {
        _deliveries.Add(1, new KeyValuePair<string, object?>("result", ok ? "ok" : "failed"));
        if (attempt > 1)
        {
            _retries.Add(1);
        }
        _connectionTime.Record(connection.TotalMilliseconds);
        if (ok && sincePublish is { } queued)
        {
            _queueTime.Record(queued.TotalMilliseconds);
        }
    }

    public void Removed() => _removals.Add(1);

    public void AcksCommitted(int count) => _ackBatch.Record(count);

    public void Demoted(bool putOff) => _demotions.Add(1, new KeyValuePair<string, object?>("result", putOff ? "put_off" : "moved"));

    /// <summary>The backlog of a partition at its last rescan; null when the partition is no longer owned.</summary>
    public void Backlog(int partition, long? entries)
    {
        if (entries is { } count)
        {
            _backlog[partition] = count;
        }
        else
        {
            _backlog.TryRemove(partition, out _);
        }
    }

    public void Partitions(int owned) => Interlocked.Exchange(ref _ownedPartitions, owned);

    public void ClientLoops(int delta) => Interlocked.Add(ref _activeClients, delta);
}
