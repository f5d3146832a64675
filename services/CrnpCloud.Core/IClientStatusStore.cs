namespace CrnpCloud.Core;

/// <summary>
/// How deliveries to the clients are going, read-only: for the admin API and the operator (CrnpClient
/// status, removal events, the CrnpServer's partition count). The delivery pool writes it
/// (<see cref="IDeliveryStore"/>, which extends this).
/// </summary>
public interface IClientStatusStore
{
    /// <summary>How many partitions clients hash to (<see cref="Partitioning"/>); fixed at installation.</summary>
    int Partitions { get; }

    /// <summary>How deliveries to a client are going; null when it is not registered.</summary>
    Task<DeliveryStatus?> GetDeliveryStatusAsync(CallbackAddress client, CancellationToken cancellationToken = default);

    /// <summary>The most recent removals by the delivery pool, newest last (for the operator and the admin API).</summary>
    Task<IReadOnlyList<RemovalRecord>> ListRemovalsAsync(int max, CancellationToken cancellationToken = default);

    /// <summary>
    /// The removals recorded after <paramref name="after"/> (null: from the oldest kept), oldest first, at
    /// most <paramref name="max"/>, and the cursor to pass next time (unchanged when there are none). A
    /// cursor stays valid while the store lives; removals trimmed from the record are skipped.
    /// </summary>
    Task<RemovalPage> ReadRemovalsAsync(string? after, int max, CancellationToken cancellationToken = default);
}

/// <summary>
/// A client's deliveries: entries queued, the last successful delivery (when, and the sequence of the
/// event delivered), failed attempts since then and the last failure.
/// </summary>
public sealed record DeliveryStatus(long Backlog, DateTimeOffset? LastDelivery, int ConsecutiveFailures, string? LastFailure, DateTimeOffset? LastFailureAt,
    long? LastDeliveredSequence = null);

/// <summary>A client the delivery pool removed, and why.</summary>
public sealed record RemovalRecord(CallbackAddress Client, string Reason, DateTimeOffset At);

/// <summary>Removals read with a cursor, oldest first, and the cursor after the last of them.</summary>
public sealed record RemovalPage(IReadOnlyList<RemovalRecord> Removals, string? Cursor);
