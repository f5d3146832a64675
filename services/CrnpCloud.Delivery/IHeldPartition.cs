using CrnpCloud.Core;

namespace CrnpCloud.Delivery;

/// <summary>
/// What a client's delivery needs of the partition it runs under: the lease (for fenced acks and
/// removals), whether it is still valid, the stop signal, and a way to report the lease lost. The
/// references run one way: <see cref="OwnedPartition"/> starts <see cref="ClientLoop"/>s, which call
/// <see cref="QueueDrainer"/>, which sees the partition only through this interface.
/// </summary>
internal interface IHeldPartition : ILeaseGuard
{
    Lease Lease { get; }

    /// <summary>Cancelled when the partition stops (released, lost, or the worker shutting down).</summary>
    CancellationToken Stopping { get; }

    /// <summary>An ack or removal was fenced out: another worker holds the partition now.</summary>
    void MarkLost();
}
