using System.Diagnostics.Metrics;

namespace CrnpCloud.Operator;

/// <summary>Operator metrics: leadership, reconciles by kind and result, registrations and removals seen.</summary>
internal sealed class OperatorTelemetry : IDisposable
{
    private readonly Meter _meter = new("CrnpCloud.Operator");
    private readonly Counter<long> _reconciles;
    private readonly Counter<long> _registered;
    private readonly Counter<long> _removed;
    private int _leading;

    public OperatorTelemetry()
    {
        _reconciles = _meter.CreateCounter<long>("crnp.operator.reconciles", description: "Reconciles by kind and result");
        _registered = _meter.CreateCounter<long>("crnp.operator.registrations", description: "Declared registrations written to the store");
        _removed = _meter.CreateCounter<long>("crnp.operator.removals", description: "Declared clients found removed by the delivery pool");
        _meter.CreateObservableGauge("crnp.operator.leader", () => Volatile.Read(ref _leading), description: "1 while this replica holds the Lease and reconciles");
    }

    public void Leading(bool leading) => Volatile.Write(ref _leading, leading ? 1 : 0);

    public void Reconciled(string kind, string result) =>
        _reconciles.Add(1, new KeyValuePair<string, object?>("kind", kind), new KeyValuePair<string, object?>("result", result));

    public void Registered() => _registered.Add(1);

    public void Removed() => _removed.Add(1);

    public void Dispose() => _meter.Dispose();
}
