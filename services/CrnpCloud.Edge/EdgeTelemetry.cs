using System.Diagnostics;
using System.Diagnostics.Metrics;
using CrnpCloud.Protocol;

namespace CrnpCloud.Edge;

/// <summary>The edge's span source and meters.</summary>
internal sealed class EdgeTelemetry
{
    public const string Name = "CrnpCloud.Edge";

    public static readonly ActivitySource Source = new(Name);

    private readonly Counter<long> _registrations;
    private readonly Histogram<double> _duration;
    private readonly Counter<long> _refused;
    private readonly Counter<long> _idleClosed;

    public EdgeTelemetry(IMeterFactory meters)
    {
        var meter = meters.Create(Name);
        _registrations = meter.CreateCounter<long>("crnp.edge.registrations", description: "Registration messages answered, by reply status");
        _duration = meter.CreateHistogram<double>("crnp.edge.registration.duration", "ms", "Time from connection to reply written");
        _refused = meter.CreateCounter<long>("crnp.edge.connections.refused", description: "Registration connections refused as they were accepted, before reading, by reason (denied, address_limit, global_limit)");
        _idleClosed = meter.CreateCounter<long>("crnp.edge.connections.idle_closed", description: "Registration connections closed because no byte came within IdleTimeout");
    }

    public void Answered(StatusCode status, string regType, TimeSpan elapsed)
    {
        var statusTag = new KeyValuePair<string, object?>("status", status.ToWire());
        var typeTag = new KeyValuePair<string, object?>("reg_type", regType);
        _registrations.Add(1, statusTag, typeTag);
        _duration.Record(elapsed.TotalMilliseconds, statusTag, typeTag);
    }

    public void Refused(string reason) => _refused.Add(1, new KeyValuePair<string, object?>("reason", reason));

    public void IdleClosed() => _idleClosed.Add(1);
}
