using CrnpCloud.Protocol;

namespace CrnpCloud.Core;

/// <summary>
/// Publishing into the global event order, and the current state it leaves: the ingest publishes,
/// the operator's event sources read the latest state to publish only what changed. Reading the log
/// back and replaying it is <see cref="IEventHistoryStore"/>, an operator's task.
/// </summary>
public interface IEventLog
{
    /// <summary>
    /// Appends an event to the global order, makes it the latest of its state key, and queues it for
    /// every client with a matching type. With an idempotency key seen within its window, it does
    /// none of that and returns the first event's sequence with <see cref="PublishResult.Duplicate"/> set.
    /// </summary>
    Task<PublishResult> PublishAsync(CrnpEvent evt, PublishOptions? options = null, CancellationToken cancellationToken = default);

    /// <summary>The latest event of every state key, in sequence order.</summary>
    Task<IReadOnlyList<StoredEvent>> GetLatestAsync(CancellationToken cancellationToken = default);
}
