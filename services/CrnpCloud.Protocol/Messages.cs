namespace CrnpCloud.Protocol;

/// <summary>Any of the three CRNP documents.</summary>
public abstract record CrnpMessage;

/// <summary>
/// An <c>NVPAIR</c>: a name with one value (scalar) or several (array). CRNP cannot tell a
/// one-element array from a scalar on the wire, and neither do we.
/// </summary>
public sealed record NameValue(string Name, EquatableList<string> Values)
{
    public NameValue(string name, params string[] values) : this(name, new EquatableList<string>(values))
    {
    }

    public override string ToString() => Values.Count == 1 ? $"{Name}={Values[0]}" : $"{Name}={Values}";
}

/// <summary>An <c>SC_EVENT_REG</c>: an event type a client asks for.</summary>
public sealed record EventRegistration(string Class, string? Subclass, EquatableList<NameValue> NameValues)
{
    public EventRegistration(string @class, string? subclass = null, params NameValue[] nameValues)
        : this(@class, subclass, new EquatableList<NameValue>(nameValues))
    {
    }

    public override string ToString() =>
        Class + (Subclass is null ? "" : "/" + Subclass) + (NameValues.Count == 0 ? "" : "?" + string.Join(",", NameValues));
}

/// <summary>An <c>SC_CALLBACK_REG</c> document.</summary>
public sealed record CallbackRegistration(RegistrationType Type, int Port, EquatableList<EventRegistration> Events) : CrnpMessage
{
    public CallbackRegistration(RegistrationType type, int port, params EventRegistration[] events)
        : this(type, port, new EquatableList<EventRegistration>(events))
    {
    }
}

/// <summary>An <c>SC_REPLY</c> document.</summary>
public sealed record CrnpReply(StatusCode Status, string Message) : CrnpMessage;

/// <summary>An <c>SC_EVENT</c> document.</summary>
public sealed record CrnpEvent(string Class, string Subclass, string Vendor, string Publisher, EquatableList<NameValue> NameValues) : CrnpMessage
{
    public CrnpEvent(string @class, string subclass, string vendor, string publisher, params NameValue[] nameValues)
        : this(@class, subclass, vendor, publisher, new EquatableList<NameValue>(nameValues))
    {
    }
}

/// <summary>Why a document was refused, as the status code the server answers with.</summary>
public readonly record struct CrnpError(StatusCode Status, string Message);
