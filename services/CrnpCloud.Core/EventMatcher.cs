using CrnpCloud.Protocol;

namespace CrnpCloud.Core;

/// <summary>
/// PROTOCOL.md section 5: an event matches a registered type when the class is equal, the registered
/// subclass is absent or equal, and every registered nvpair is present in the event with the same
/// value(s).
/// </summary>
public static class EventMatcher
{
    public static bool Matches(EventRegistration type, CrnpEvent evt)
    {
        if (!string.Equals(type.Class, evt.Class, StringComparison.Ordinal))
        {
            return false;
        }

        if (type.Subclass is not null && !string.Equals(type.Subclass, evt.Subclass, StringComparison.Ordinal))
        {
            return false;
        }

        foreach (var wanted in type.NameValues)
        {
            if (!HasPair(evt, wanted))
            {
                return false;
            }
        }
        return true;
    }

    public static bool MatchesAny(IEnumerable<EventRegistration> types, CrnpEvent evt)
    {
        foreach (var type in types)
        {
            if (Matches(type, evt))
            {
                return true;
            }
        }
        return false;
    }

    private static bool HasPair(CrnpEvent evt, NameValue wanted)
    {
        foreach (var pair in evt.NameValues)
        {
            if (string.Equals(pair.Name, wanted.Name, StringComparison.Ordinal) && pair.Values.Equals(wanted.Values))
            {
                return true;
            }
        }
        return false;
    }
}
