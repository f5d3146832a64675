using System.Diagnostics;
using System.Diagnostics.Metrics;
using CrnpCloud.Protocol;

namespace CrnpCloud.Edge;

/// <summary>The edge's span source and meters.</summary>
public sealed class EdgeTelemetry
{
    public const string Name = "CrnpCloud.Edge";

    public static readonly ActivitySource Source = new(Name);

    private readonly Counter<long> _registrations;
    private readonly Histogram<double> _duration;

    public EdgeTelemetry(IMeterFactory meters)
    {
        var meter = meters.Create(Name);
        _registrations = meter.CreateCounter<long>("crnp.edge.registrations", description: "Registration messages answered, by reply status");
        _duration = meter.CreateHistogram<double>("crnp.edge.registration.duration", "ms", "Time from connection to reply written");
    }

    public void Answered(StatusCode status, string regType, TimeSpan elapsed)
    {
        var statusTag = new KeyValuePair<string, object?>("status", status.ToWire());
        var typeTag = new KeyValuePair<string, object?>("reg_type", regType);
        _registrations.Add(1, statusTag, typeTag);
        _duration.Record(elapsed.TotalMilliseconds, statusTag, typeTag);
    }
}
