using CrnpCloud.Protocol;

namespace CrnpCloud.Core;

/// <summary>
/// The state every service shares. Each method is one atomic step: a registration change and the
/// first events it queues happen together, so no publish can slip between them (docs/architecture.md,
/// invariant 3). Implementations throw <see cref="StoreUnavailableException"/> when the backing
/// store cannot be reached; then nothing was applied.
/// </summary>
public interface ICrnpStore
{
    /// <summary>Succeeds when the store can be reached (readiness).</summary>
    Task PingAsync(CancellationToken cancellationToken = default);

    /// <summary>Applies ADD_CLIENT / ADD_EVENTS / REMOVE_EVENTS / REMOVE_CLIENT (PROTOCOL.md section 2).</summary>
    Task<RegistrationResult> ApplyAsync(RegistrationChange change, CancellationToken cancellationToken = default);

    Task<ClientRegistration?> GetClientAsync(CallbackAddress client, CancellationToken cancellationToken = default);

    Task<IReadOnlyList<ClientRegistration>> ListClientsAsync(CancellationToken cancellationToken = default);

    /// <summary>
    /// Appends an event to the global order, makes it the latest of its state key, and queues it for
    /// every client with a matching type. With an idempotency key seen within its window, it does
    /// none of that and returns the first event's sequence with <see cref="PublishResult.Duplicate"/> set.
    /// </summary>
    Task<PublishResult> PublishAsync(CrnpEvent evt, PublishOptions? options = null, CancellationToken cancellationToken = default);

    /// <summary>The latest event of every state key, in sequence order.</summary>
    Task<IReadOnlyList<StoredEvent>> GetLatestAsync(CancellationToken cancellationToken = default);

    /// <summary>The first <paramref name="max"/> entries of a client's queue, oldest first.</summary>
    Task<IReadOnlyList<QueueEntry>> PeekQueueAsync(CallbackAddress client, int max, CancellationToken cancellationToken = default);

    /// <summary>Removes a delivered entry. False when it was already gone (a duplicate ack, or the client was removed).</summary>
    Task<bool> AckAsync(CallbackAddress client, string entryId, CancellationToken cancellationToken = default);
}

/// <summary>The backing store cannot be reached; the operation was not applied and may be retried.</summary>
public class StoreUnavailableException : Exception
{
    public StoreUnavailableException()
    {
    }

    public StoreUnavailableException(string message) : base(message)
    {
    }

    public StoreUnavailableException(string message, Exception inner) : base(message, inner)
    {
    }
}

/// <summary>
/// The change was written to the store's primary but fewer replicas than required confirmed it in
/// time (<c>Crnp:Store:MinReplicas</c>): it is not acknowledged, may or may not survive a failover, and
/// is safe to retry (a publish with the same idempotency key, a registration as it was). Callers that
/// only know <see cref="StoreUnavailableException"/> treat it as such (gRPC UNAVAILABLE, CRNP RETRY).
/// </summary>
public sealed class StoreNotReplicatedException : StoreUnavailableException
{
    public StoreNotReplicatedException()
    {
    }

    public StoreNotReplicatedException(string message) : base(message)
    {
    }

    public StoreNotReplicatedException(string message, Exception inner) : base(message, inner)
    {
    }

    public StoreNotReplicatedException(int confirmed, int required, TimeSpan timeout)
        : base($"written, but {confirmed} of {required} required replicas confirmed it within {timeout.TotalMilliseconds:F0} ms")
    {
        Confirmed = confirmed;
        Required = required;
    }

    /// <summary>Replicas that confirmed the write.</summary>
    public int Confirmed { get; }

    /// <summary>Replicas required (<c>Crnp:Store:MinReplicas</c>).</summary>
    public int Required { get; }
}
