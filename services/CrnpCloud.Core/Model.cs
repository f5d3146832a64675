using CrnpCloud.Protocol;

namespace CrnpCloud.Core;

/// <summary>How a registration came to exist.</summary>
public enum RegistrationOrigin
{
    /// <summary>Registered over TCP by the client itself.</summary>
    Dynamic,

    /// <summary>Declared by the operator from a CrnpClient resource.</summary>
    Declared,
}

/// <summary>A registered client and the event types it asked for.</summary>
public sealed record ClientRegistration(
    CallbackAddress Address,
    EquatableList<EventRegistration> Types,
    RegistrationOrigin Origin,
    DateTimeOffset RegisteredAt);

/// <summary>An event as stored: its place in the global order, and the trace it was published in.</summary>
public sealed record StoredEvent(long Sequence, string Id, CrnpEvent Event, string? TraceParent, DateTimeOffset PublishedAt);

/// <summary>Why an entry sits in a client's delivery queue.</summary>
public enum QueueEntryKind
{
    /// <summary>Fanned out at publish time.</summary>
    Published,

    /// <summary>The current state of a type, queued when the client registered that type.</summary>
    FirstEvent,

    /// <summary>The current state of a type, queued again after the store may have lost events (failover).</summary>
    Resync,

    /// <summary>Queued again by an operator: from the global event log or from the client's dead letters (PROTOCOL.md section 11).</summary>
    Replay,
}

/// <summary>One entry of a client's delivery queue; <see cref="EntryId"/> increases along the queue.</summary>
public sealed record QueueEntry(string EntryId, QueueEntryKind Kind, StoredEvent Event);

/// <summary>Server-side limits a registration change is checked against, inside the atomic step.</summary>
public sealed record RegistrationLimits(int MaxClients, int MaxTypesPerClient)
{
    public static RegistrationLimits Default { get; } = new(1000, 256);
}

/// <summary>A registration message as the store applies it.</summary>
public sealed record RegistrationChange(
    RegistrationType Type,
    CallbackAddress Client,
    EquatableList<EventRegistration> Types,
    RegistrationLimits Limits,
    RegistrationOrigin Origin = RegistrationOrigin.Dynamic);

/// <summary>What the store did with a change: the SC_REPLY status, its text, and how many first events it queued.</summary>
public sealed record RegistrationResult(StatusCode Status, string Message, int FirstEventsQueued = 0)
{
    public static RegistrationResult Ok(string message, int firstEvents = 0) => new(StatusCode.Ok, message, firstEvents);

    public static RegistrationResult NotRegistered(CallbackAddress client) =>
        new(StatusCode.Fail, $"client {client} is not registered: send ADD_CLIENT first");

    /// <summary>The reply to a TCP registration message against a registration declared by a CrnpClient resource.</summary>
    public static RegistrationResult DeclaredByResource(CallbackAddress client) =>
        new(StatusCode.Fail, $"client {client} is declared by a CrnpClient resource: change or delete that resource instead");
}

/// <summary>How to publish: the W3C traceparent of the publish call, and an optional idempotency key with its window.</summary>
public sealed record PublishOptions(string? TraceParent = null, string? IdempotencyKey = null, TimeSpan IdempotencyWindow = default);

/// <summary>
/// What a publish did. For a duplicate (same idempotency key within the window) <see cref="Event"/>
/// carries the first event's sequence and id, and nothing was queued.
/// </summary>
public sealed record PublishResult(StoredEvent Event, int Queued, bool Duplicate = false)
{
    public void Deconstruct(out StoredEvent evt, out int queued)
    {
        evt = Event;
        queued = Queued;
    }
}
