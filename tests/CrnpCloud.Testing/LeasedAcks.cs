using CrnpCloud.Core;

namespace CrnpCloud.Testing;

/// <summary>
/// Acks for tests that take a queue entry off by hand: the store acks only under a partition lease
/// (<see cref="IDeliveryStore.AckAsync"/>), so this takes the client's lease as a test worker first,
/// the way a delivery worker would.
/// </summary>
public static class LeasedAcks
{
    /// <summary>The worker id the leases are claimed under.</summary>
    public const string Worker = "test-acker";

    /// <summary>
    /// Takes the client's partition lease as <see cref="Worker"/> and acks the entry under it: true when
    /// it was removed, false when it was already gone (a duplicate ack, or the client was removed).
    /// Throws when another worker holds the partition (then ack with that worker's lease instead).
    /// </summary>
    public static async Task<bool> AckLeasedAsync(this IDeliveryStore store, CallbackAddress client, string entryId)
    {
        ArgumentNullException.ThrowIfNull(store);
        var partition = Partitioning.Of(client, store.Partitions);
        var claim = await store.ClaimAsync(Worker, TimeSpan.FromMinutes(5));
        var lease = claim.Leases.Where(l => l.Partition == partition).Select(l => (Lease?)l).SingleOrDefault()
            ?? throw new InvalidOperationException($"partition {partition} of {client} is leased to another worker; ack with its lease");
        var reply = await store.AckAsync(client, entryId, lease);
        return reply.Result switch
        {
            AckResult.Done => true,
            AckResult.AlreadyGone => false,
            _ => throw new InvalidOperationException($"the lease on partition {partition} was lost during the ack"),
        };
    }
}
