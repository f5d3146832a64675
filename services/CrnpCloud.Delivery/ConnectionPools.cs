using Microsoft.Extensions.Options;

namespace CrnpCloud.Delivery;

/// <summary>
/// The worker's two connection budgets: <see cref="DeliveryOptions.ConnectionBudget"/> for clients in
/// good standing and <see cref="DeliveryOptions.SuspectBudget"/> for the others (new to this worker,
/// failing or slow), so that clients that cannot be reached (whose connects hang until the connect
/// timeout) wait only for each other. Both are sized at start.
/// </summary>
internal sealed class ConnectionPools(IOptionsMonitor<DeliveryOptions> options) : IDisposable
{
    private readonly int _mainSize = options.CurrentValue.ConnectionBudget;
    private readonly int _suspectSize = options.CurrentValue.SuspectBudget;

    public SemaphoreSlim Main { get; } = new(options.CurrentValue.ConnectionBudget);

    public SemaphoreSlim Suspect { get; } = new(options.CurrentValue.SuspectBudget);

    /// <summary>Connections open now from each budget (for the metrics).</summary>
    public (int Main, int Suspect) InUse => (_mainSize - Main.CurrentCount, _suspectSize - Suspect.CurrentCount);

    public void Dispose()
    {
        Main.Dispose();
        Suspect.Dispose();
    }
}
