namespace CrnpCloud.Core;

/// <summary>
/// The whole store, every role at once: what <see cref="InMemoryStore"/> and the Redis store
/// implement, what a host registers (once, <c>AddCrnpMemoryStore</c> / <c>AddCrnpRedisStore</c>, which
/// also register it under each role) and what the store contract tests exercise. Services never
/// take it: each takes the roles it uses, so its constructor shows what it may do.
/// Each method is one atomic step. Implementations throw <see cref="StoreUnavailableException"/>
/// when the backing store cannot be reached; then nothing was applied.
/// </summary>
public interface ICrnpStore :
    IStoreHealth,
    IRegistrationStore,
    IEventLog,
    IClientStatusStore,
    IDeliveryStore,
    ISettingsStore,
    IEventHistoryStore;

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
