using CrnpCloud.Protocol;

namespace CrnpCloud.Core;

/// <summary>
/// Which clients have a type for a (class, subclass or none, first registered nvpair or none), so
/// fan-out looks only at the clients of the event's own group or resource instead of at every client
/// of its subclass (the same keying as the Redis store's index). A type's first nvpair must be in a
/// matching event, so looking up each of the event's pairs finds every candidate; the matcher still
/// checks each. Not thread-safe: the owning store serialises access.
/// </summary>
internal sealed class SubscriptionIndex
{
    private readonly Dictionary<(string Class, string? Subclass, NameValue? First), Dictionary<CallbackAddress, int>> _byType = [];

    private static (string, string?, NameValue?) KeyOf(EventRegistration type) =>
        (type.Class, type.Subclass, type.NameValues.Count > 0 ? type.NameValues[0] : null);

    public void Add(CallbackAddress client, IEnumerable<EventRegistration> types)
    {
        foreach (var type in types)
        {
            var key = KeyOf(type);
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
            var key = KeyOf(type);
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

    /// <summary>Clients that may have a type matching the event, each once.</summary>
    public IEnumerable<CallbackAddress> Candidates(CrnpEvent evt)
    {
        Dictionary<CallbackAddress, int>? single = null;
        HashSet<CallbackAddress>? union = null;
        void Take((string, string?, NameValue?) key)
        {
            if (!_byType.TryGetValue(key, out var clients))
            {
                return;
            }
            if (single is null)
            {
                single = clients;
                return;
            }
            union ??= [.. single.Keys];
            union.UnionWith(clients.Keys);
        }

        Take((evt.Class, null, null));
        Take((evt.Class, evt.Subclass, null));
        foreach (var pair in evt.NameValues)
        {
            Take((evt.Class, null, pair));
            Take((evt.Class, evt.Subclass, pair));
        }
        return union ?? (IEnumerable<CallbackAddress>?)single?.Keys ?? [];
    }
}
