using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace CrnpCloud.Ingest;

/// <summary>The ingest's span source and meters.</summary>
public sealed class IngestTelemetry
{
    public const string Name = "CrnpCloud.Ingest";

    public static readonly ActivitySource Source = new(Name);

    private readonly Counter<long> _events;
    private readonly Histogram<double> _duration;
    private readonly Histogram<long> _fanOut;
    private readonly Counter<long> _refused;

    public IngestTelemetry(IMeterFactory meters)
    {
        var meter = meters.Create(Name);
        _events = meter.CreateCounter<long>("crnp.ingest.events", description: "Publish requests, by result (published, duplicate, invalid, unavailable, error)");
        _duration = meter.CreateHistogram<double>("crnp.ingest.publish.duration", "ms", "Time to validate, order and fan out one event");
        _fanOut = meter.CreateHistogram<long>("crnp.ingest.fanout", description: "Client queues one event was put on");
        _refused = meter.CreateCounter<long>("crnp.ingest.auth.refused", description: "Calls refused for their bearer token, by service and status (unauthenticated, permission_denied)");
    }

    public void Published(int queued, TimeSpan elapsed)
    {
        _events.Add(1, new KeyValuePair<string, object?>("result", "published"));
        _fanOut.Record(queued);
        _duration.Record(elapsed.TotalMilliseconds);
    }

    public void Rejected(string result) => _events.Add(1, new KeyValuePair<string, object?>("result", result));

    public void Refused(string service, string status) =>
        _refused.Add(1, new KeyValuePair<string, object?>("service", service), new KeyValuePair<string, object?>("status", status));
}
