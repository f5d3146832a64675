using CrnpCloud.Protocol;

namespace CrnpCloud.Core;

/// <summary>
/// Which clients have a type for a (class, subclass) or for a whole class, so fan-out looks only at
/// candidates for the event's class and subclass instead of at every client. Not thread-safe: the
/// owning store serialises access.
/// </summary>
internal sealed class SubscriptionIndex
{
    private readonly Dictionary<(string Class, string? Subclass), Dictionary<CallbackAddress, int>> _byType = [];

    public void Add(CallbackAddress client, IEnumerable<EventRegistration> types)
    {
        foreach (var type in types)
        {
            var key = (type.Class, type.Subclass);
            if (!_byType.TryGetValue(key, out var clients))
            {
                _byType[key] = clients = [];
            }
            clients[client] = clients.GetValueOrDefault(client) + 1;
        }
    }

    public void Remove(CallbackAddress client, IEnumerable<EventRegistration> types)
    {
        foreach (var type in types)
        {
            var key = (type.Class, type.Subclass);
            if (_byType.TryGetValue(key, out var clients) && clients.TryGetValue(client, out var count))
            {
                if (count > 1)
                {
                    clients[client] = count - 1;
                }
                else
                {
                    clients.Remove(client);
                    if (clients.Count == 0)
                    {
                        _byType.Remove(key);
                    }
                }
            }
        }
    }

    /// <summary>Clients with a type for the event's class alone or for its class and subclass, each once.</summary>
    public IEnumerable<CallbackAddress> Candidates(CrnpEvent evt)
    {
        var classOnly = _byType.GetValueOrDefault((evt.Class, null));
        var withSubclass = _byType.GetValueOrDefault((evt.Class, evt.Subclass));
        if (classOnly is null)
        {
            return withSubclass?.Keys ?? Enumerable.Empty<CallbackAddress>();
        }
        return withSubclass is null ? classOnly.Keys : classOnly.Keys.Union(withSubclass.Keys);
    }
}
