using System.ComponentModel.DataAnnotations;

namespace CrnpCloud.Core;

/// <summary>
/// The global event log and the dead letters, for operators (PROTOCOL.md section 11): read the log,
/// queue a client's matching events again from a sequence on, and keep what the delivery pool could
/// not deliver to a client it removed, so it can be queued again once the client is back.
/// </summary>
public interface IEventHistoryStore
{
    /// <summary>
    /// Events of the global log with a sequence above <paramref name="after"/>, oldest first, at most
    /// <paramref name="max"/>; with <paramref name="after"/> null, the last <paramref name="max"/>.
    /// </summary>
    Task<EventLogPage> ReadEventsAsync(long? after, int max, CancellationToken cancellationToken = default);

    /// <summary>
    /// Queues again, behind what the client has queued and in order, every event of the log with a
    /// sequence above <paramref name="after"/> that matches one of its types (the publish rules).
    /// <see cref="ReplayStatus.OutOfRange"/> when event <paramref name="after"/> + 1 is no longer in the log.
    /// </summary>
    Task<ReplayResult> ReplayAsync(CallbackAddress client, long after, CancellationToken cancellationToken = default);

    /// <summary>The client's dead letters, oldest first, at most <paramref name="max"/> (it need not be registered).</summary>
    Task<IReadOnlyList<DeadLetter>> ListDeadLettersAsync(CallbackAddress client, int max, CancellationToken cancellationToken = default);

    /// <summary>Queues the client's dead letters again, in order, behind what it has queued, and clears them. The client must be registered.</summary>
    Task<ReplayResult> ReplayDeadLettersAsync(CallbackAddress client, CancellationToken cancellationToken = default);
}

/// <summary>
/// A page of the global log, and the log's bounds at that moment: the oldest and newest sequence it
/// holds (0 and 0 when it is empty).
/// </summary>
public sealed record EventLogPage(IReadOnlyList<StoredEvent> Events, long OldestSequence, long NewestSequence);

public enum ReplayStatus
{
    Done,

    /// <summary>The client is not registered.</summary>
    NotRegistered,

    /// <summary>The log no longer holds the event after the one asked for: it was trimmed.</summary>
    OutOfRange,
}

/// <summary>What a replay did: how many entries it queued; for <see cref="ReplayStatus.OutOfRange"/> the oldest sequence the log holds.</summary>
public sealed record ReplayResult(ReplayStatus Status, int Queued, long OldestSequence = 0);

/// <summary>An event the delivery pool could not deliver before it removed the client.</summary>
public sealed record DeadLetter(StoredEvent Event, QueueEntryKind Kind, string Reason, DateTimeOffset DeadAt);

/// <summary>
/// How many dead letters a client keeps, and for how long (PROTOCOL.md section 11). The oldest go first.
/// </summary>
public sealed class DeadLetterLimits
{
    /// <summary>Dead letters kept per client; older ones are dropped beyond it.</summary>
    [Range(SettingLimits.DeadLetterMaxCountMin, SettingLimits.DeadLetterMaxCountMax)]
    public int DeadLetterMaxCount { get; set; } = 1000;

    /// <summary>How long a dead letter is kept after its client was removed.</summary>
    [DurationRange(SettingLimits.DeadLetterMaxAgeMin, SettingLimits.DeadLetterMaxAgeMax)]
    public TimeSpan DeadLetterMaxAge { get; set; } = TimeSpan.FromDays(7);
}
