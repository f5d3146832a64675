namespace CrnpCloud.Core;

/// <summary>
/// What the delivery pool needs from the store: the client queues, partition leases and the
/// clients' delivery status it keeps. Clients hash to partitions; a worker owns partitions through
/// leases whose fencing token every ack and removal must present, so a worker that lost a lease can
/// at worst deliver an event twice, never ack or remove on someone else's watch. It reads the
/// status as everyone may (<see cref="IClientStatusStore"/>); only the delivery pool changes it.
/// </summary>
public interface IDeliveryStore : IClientStatusStore
{
    /// <summary>The first <paramref name="max"/> entries of a client's queue, oldest first.</summary>
    Task<IReadOnlyList<QueueEntry>> PeekQueueAsync(CallbackAddress client, int max, CancellationToken cancellationToken = default);

    /// <summary>
    /// Listens for wake-ups of one partition: a client of it got new queue entries. A hint, not a
    /// guarantee (a wake-up can be lost while the store is unreachable): callers also rescan with
    /// <see cref="ClientsWithWorkAsync"/>. The callback must not block.
    /// </summary>
    IDisposable OnWork(int partition, Action<CallbackAddress> wake);

    /// <summary>
    /// Clients of a partition whose queue is not empty, with their queue lengths (used when taking a
    /// partition, to recover lost wake-ups, and for the backlog metric).
    /// </summary>
    Task<IReadOnlyList<Backlog>> ClientsWithWorkAsync(int partition, CancellationToken cancellationToken = default);

    /// <summary>
    /// Heartbeats the worker, renews the leases it holds and takes free or expired ones until it holds
    /// its fair share (partitions / live workers, rounded up). Returns every lease it now holds (which
    /// may exceed the share until it releases some) and the share.
    /// </summary>
    Task<Claim> ClaimAsync(string worker, TimeSpan ttl, CancellationToken cancellationToken = default);

    /// <summary>
    /// Gives leases back: to shed partitions beyond the fair share, or on shutdown with
    /// <paramref name="leaving"/> set, which also takes the worker out of the live set at once so the
    /// others' fair share grows now rather than when its heartbeat expires.
    /// </summary>
    Task ReleaseAsync(string worker, IEnumerable<int> partitions, bool leaving = false, CancellationToken cancellationToken = default);

    /// <summary>
    /// Listens for lease news: another worker joined short of its fair share, or gave partitions back.
    /// A hint to run a lease round now rather than at the next renewal, so partitions change hands in
    /// milliseconds; the callback gets the announcing worker's id and must not block.
    /// </summary>
    IDisposable OnLeaseNews(Action<string> news);

    /// <summary>Tells every worker listening with <see cref="OnLeaseNews"/> to run a lease round now.</summary>
    Task AnnounceLeaseNewsAsync(string worker, CancellationToken cancellationToken = default);

    /// <summary>
    /// Removes a delivered entry if the lease is still this one's, and records the delivery in the
    /// client's status (time; failures back to 0). Fenced out = <see cref="AckResult.LeaseLost"/>.
    /// The reply also says whether the client's queue was empty once the ack was applied, so a
    /// worker need not ask again (one store round trip per delivery, not two).
    /// </summary>
    Task<AckReply> AckAsync(CallbackAddress client, string entryId, Lease lease, CancellationToken cancellationToken = default);

    /// <summary>
    /// Several acks, of any clients and partitions, in one store round trip (a worker commits its
    /// clients' acks together): each is fenced by its own lease and answered, in order, as
    /// <see cref="AckAsync"/> would answer it alone.
    /// </summary>
    Task<IReadOnlyList<AckReply>> AckManyAsync(IReadOnlyList<AckRequest> acks, CancellationToken cancellationToken = default);

    /// <summary>
    /// Counts a failed delivery attempt in the client's status, with its reason. Returns the client's
    /// consecutive failed attempts including this one (since its last delivery or registration), or 0
    /// for an unknown client (nothing is recorded for it).
    /// </summary>
    Task<int> RecordFailureAsync(CallbackAddress client, string reason, CancellationToken cancellationToken = default);

    /// <summary>Removes a client whose deliveries kept failing, atomically, and records why.</summary>
    Task<AckResult> RemoveFailedClientAsync(CallbackAddress client, string reason, Lease lease, CancellationToken cancellationToken = default);

    /// <summary>
    /// Which store instance answers: it changes when the store fails over or restarts, when events
    /// may have been lost and clients must be resynchronised.
    /// </summary>
    Task<string> StoreIdentityAsync(CancellationToken cancellationToken = default);

    /// <summary>For each partition, the store identity its clients were last brought in sync with.</summary>
    Task<IReadOnlyDictionary<int, string>> SyncMarksAsync(CancellationToken cancellationToken = default);

    /// <summary>
    /// Marks every partition in sync with <paramref name="identity"/> in one step, only if no partition
    /// has a mark yet (a new installation). Returns whether it did.
    /// </summary>
    Task<bool> InitializeSyncMarksAsync(string identity, CancellationToken cancellationToken = default);

    /// <summary>Records that a partition's clients are in sync with <paramref name="identity"/>. Fenced like an ack.</summary>
    Task<AckResult> MarkSyncedAsync(Lease lease, string identity, CancellationToken cancellationToken = default);

    /// <summary>Every registered client of a partition.</summary>
    Task<IReadOnlyList<CallbackAddress>> ClientsInPartitionAsync(int partition, CancellationToken cancellationToken = default);

    /// <summary>
    /// Queues, behind whatever the client already has queued, the current state of each of its types
    /// (PROTOCOL.md section 4, resync). Fenced like an ack. Returns how many entries were queued.
    /// </summary>
    Task<(AckResult Result, int Queued)> ResyncAsync(CallbackAddress client, Lease lease, CancellationToken cancellationToken = default);
}

/// <summary>The leases a worker holds after a claim, and how many it should hold.</summary>
public sealed record Claim(IReadOnlyList<Lease> Leases, int FairShare);

/// <summary>A client with queued entries, and how many.</summary>
public readonly record struct Backlog(CallbackAddress Client, long Entries);

/// <summary>A held partition lease and its fencing token.</summary>
public readonly record struct Lease(int Partition, long Token);

public enum AckResult
{
    Done,
    AlreadyGone,
    LeaseLost,
}

/// <summary>A worker's ack: the delivered entry of a client's queue, under the lease of the client's partition.</summary>
public readonly record struct AckRequest(CallbackAddress Client, string EntryId, Lease Lease);

/// <summary>
/// A worker's ack answered: its result and whether the client's queue held nothing else right after
/// it (an entry queued later wakes the client again). Unknown (false) when the lease was lost.
/// </summary>
public readonly record struct AckReply(AckResult Result, bool QueueEmpty);

/// <summary>The stable client -> partition hash, the same in every process and store.</summary>
public static class Partitioning
{
    public static int Of(CallbackAddress client, int partitions)
    {
        // FNV-1a over the client id text: stable across processes and runtimes, unlike string.GetHashCode.
        var hash = 2166136261u;
        foreach (var c in client.ToString())
        {
            hash = (hash ^ c) * 16777619u;
        }
        return (int)(hash % (uint)partitions);
    }
}
