using CrnpCloud.Core;
using StackExchange.Redis;

namespace CrnpCloud.Redis;

// "Acknowledged means replicated" (PROTOCOL.md section 12): with Crnp:Store:MinReplicas > 0 a publish or
// a registration is answered only once that many replicas confirmed it. WAIT goes right after the
// write on the same connection (StackExchange.Redis multiplexes one interactive connection per server,
// so it covers this write and every earlier one on it). WAIT names no key, so it is sent to the server
// that holds this CRNP cluster's keys (on Redis Cluster the master of the hash tag's slot; a keyless
// command would otherwise go to any node and count that node's replicas). Replicas that did not confirm within
// ReplicationTimeout make the store throw StoreNotReplicatedException: the ingest answers UNAVAILABLE,
// the edge RETRY, and the caller's retry is safe (the idempotency key of a publish is stored by the same
// script as the event, so it survives exactly when the event does; a registration is applied again).
public sealed partial class RedisStore
{
    // The connection the write went over: through Sentinel the store may have switched primaries since.
    private async Task ConfirmReplicatedAsync(IConnectionMultiplexer written)
    {
        if (_options.MinReplicas <= 0)
        {
            return;
        }
        var timeout = (long)Math.Max(1, _options.ReplicationTimeout.TotalMilliseconds);
        IServer primary;
        try
        {
            primary = written.GetServer(_keys.Clients, flags: CommandFlags.DemandMaster);
        }
        catch (InvalidOperationException)
        {
            throw new StoreNotReplicatedException(0, _options.MinReplicas, _options.ReplicationTimeout);
        }
        var confirmed = (int)await primary.ExecuteAsync("WAIT", _options.MinReplicas, timeout);
        if (confirmed < _options.MinReplicas)
        {
            throw new StoreNotReplicatedException(confirmed, _options.MinReplicas, _options.ReplicationTimeout);
        }
    }
}
