using System.Collections.Concurrent;
using CrnpCloud.Core;
using CrnpCloud.Protocol;

namespace CrnpCloud.Delivery;

/// <summary>
/// The SC_EVENT bytes of recent events, rendered once per event rather than once per delivery (one
/// event fanned out to a thousand clients is one rendering). Keyed by sequence and publish time: after
/// a store failover that lost writes a sequence number can be given to another event, never with the
/// same publish time. Bounded: when it holds <see cref="Capacity"/> documents it starts over.
/// </summary>
internal sealed class DocumentCache
{
    public const int Capacity = 1024;
    private readonly ConcurrentDictionary<(long Sequence, DateTimeOffset PublishedAt), byte[]> _documents = new();

    public byte[] For(StoredEvent stored)
    {
        var key = (stored.Sequence, stored.PublishedAt);
        if (_documents.TryGetValue(key, out var document))
        {
            return document;
        }
        document = CrnpWriter.ToBytes(stored.Event);
        if (_documents.Count >= Capacity)
        {
            _documents.Clear();
        }
        return _documents.GetOrAdd(key, document);
    }
}
