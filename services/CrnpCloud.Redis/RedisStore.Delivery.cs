using System.Globalization;
using CrnpCloud.Core;
using StackExchange.Redis;

namespace CrnpCloud.Redis;

/// <summary>The delivery side on Redis: leases by the Redis clock, fenced acks and removals, wake-ups over Pub/Sub.</summary>
public sealed partial class RedisStore
{
    private readonly Lock _wakeGate = new();
    private readonly Lock _subscriptionGate = new();
    private readonly List<(RedisChannel Channel, Action<RedisChannel, RedisValue> Handler)> _subscriptions = [];
    private readonly Dictionary<int, Action<CallbackAddress>[]> _wakeHandlers = [];
    private readonly Dictionary<int, long> _olderBusyFolds = [];
    private bool _wakeSubscribed;

    /// <summary>How often a rescan of a partition with no busy members still folds an older version's busy set.</summary>
    internal static readonly TimeSpan OlderBusyFoldInterval = TimeSpan.FromMinutes(5);

    public int Partitions => _options.Partitions;

    public IDisposable OnWork(int partition, Action<CallbackAddress> wake)
    {
        lock (_wakeGate)
        {
            _wakeHandlers[partition] = [.. _wakeHandlers.GetValueOrDefault(partition, []), wake];
            if (!_wakeSubscribed)
            {
                SubscribeWakeUps();
                _wakeSubscribed = true;
            }
        }
        return new Subscription(() =>
        {
            lock (_wakeGate)
            {
                var rest = _wakeHandlers.GetValueOrDefault(partition, []).Where(h => h != wake).ToArray();
                if (rest.Length == 0)
                {
                    _wakeHandlers.Remove(partition);
                }
                else
                {
                    _wakeHandlers[partition] = rest;
                }
            }
        });
    }

    // One channel carries the wake-ups of every partition (the publish script does not group clients
    // by partition: that cost as much as queueing itself for an event to hundreds of clients); each
    // worker keeps the ids of the partitions it holds. The subscription stays for the store's life.
    private void SubscribeWakeUps()
    {
        var channel = _keys.WakeChannel;
        void Handler(RedisChannel _, RedisValue message)
        {
            foreach (var id in ((string)message!).Split(' ', StringSplitOptions.RemoveEmptyEntries))
            {
                if (CallbackAddress.TryParse(id, out var client))
                {
                    Action<CallbackAddress>[]? handlers;
                    lock (_wakeGate)
                    {
                        _wakeHandlers.TryGetValue(Partitioning.Of(client.Value, _options.Partitions), out handlers);
                    }
                    foreach (var wake in handlers ?? [])
                    {
                        wake(client.Value);
                    }
                }
            }
        }
        // Subscribed and confirmed before the first partition counts as watched. A fire-and-forget
        // SUBSCRIBE was lost now and then while two workers settled their partitions (the e2e benchmark
        // showed half the clients idle until the 30 s rescan). When Redis cannot be reached the
        // subscription is registered without confirmation (the client library restores it on
        // reconnect) and the rescan covers the gap: wake-ups stay hints.
        Subscribe(channel, Handler);
    }

    // The busy set holds every partition's clients (see SubscribeWakeUps): this partition's are picked
    // here, where the hash is cheap, and only they are looked at in the script. A partition with none
    // costs the one read: the script runs only for members, or to fold an older version's busy set of
    // the partition (OlderBusyFoldDue). An idle installation's rescans were 4 commands per partition
    // every 30 s, more than half of its Redis commands (the idle benchmark).
    public Task<IReadOnlyList<Backlog>> ClientsWithWorkAsync(int partition, CancellationToken cancellationToken = default) =>
        Guard<IReadOnlyList<Backlog>>(async () =>
        {
            var mine = (await Db.SetMembersAsync(_keys.Busy))
                .Where(id => CallbackAddress.TryParse(id!, out var c) && Partitioning.Of(c.Value, _options.Partitions) == partition)
                .ToList();
            var started = _time.GetTimestamp();
            if (mine.Count == 0 && !OlderBusyFoldDue(partition, started))
            {
                return [];
            }
            var flat = (RedisResult[])(await Db.ScriptEvaluateAsync(Scripts.Work, [_keys.Busy, _keys.OlderBusy(partition)], [_keys.Prefix, partition, .. mine]))!;
            lock (_olderBusyFolds)
            {
                _olderBusyFolds[partition] = started;
            }
            var backlog = new List<Backlog>(flat.Length / 2);
            for (var i = 0; i + 1 < flat.Length; i += 2)
            {
                backlog.Add(new Backlog(CallbackAddress.Parse((string)flat[i]!), (long)flat[i + 1]));
            }
            return backlog;
        });

    // An older version kept a busy set per partition (busy:<n>, docs/redis.md); its ingest may still be
    // writing one during a rolling update. work.lua folds it into the busy set: the first time this
    // process looks at the partition, then at most every OlderBusyFoldInterval (counted from the last
    // script that ran, so a failed one is not counted).
    private bool OlderBusyFoldDue(int partition, long now)
    {
        lock (_olderBusyFolds)
        {
            return !_olderBusyFolds.TryGetValue(partition, out var last) || _time.GetElapsedTime(last, now) >= OlderBusyFoldInterval;
        }
    }

    public IDisposable OnLeaseNews(Action<string> news)
    {
        var channel = _keys.LeaseChannel;
        void Handler(RedisChannel _, RedisValue worker) => news((string)worker!);
        // Confirmed when Redis answers; otherwise restored by the client library on reconnect. News are
        // hints: a worker that misses one runs its lease round at the next renewal as before.
        Subscribe(channel, Handler);
        return new Subscription(() =>
        {
            lock (_subscriptionGate)
            {
                _subscriptions.Remove((channel, Handler));
            }
            CurrentOrNull()?.GetSubscriber().Unsubscribe(channel, Handler, CommandFlags.FireAndForget);
        });
    }

    // Every subscription is kept, so that a new connection (through Sentinel: a new primary) gets them
    // all again (Resubscribe). Without a connection yet, the next one brings it.
    private void Subscribe(RedisChannel channel, Action<RedisChannel, RedisValue> handler)
    {
        lock (_subscriptionGate)
        {
            _subscriptions.Add((channel, handler));
        }
        if (CurrentOrNull() is { } connection)
        {
            SubscribeConfirmed(connection.GetSubscriber(), channel, handler);
        }
    }

    private void Resubscribe(IConnectionMultiplexer connection)
    {
        (RedisChannel Channel, Action<RedisChannel, RedisValue> Handler)[] all;
        lock (_subscriptionGate)
        {
            all = [.. _subscriptions];
        }
        var subscriber = connection.GetSubscriber();
        foreach (var (channel, handler) in all)
        {
            subscriber.Subscribe(channel, handler, CommandFlags.FireAndForget);
        }
    }

    private IConnectionMultiplexer? CurrentOrNull() => _fixed ?? _sentinel?.Current;

    // Subscribed and confirmed when Redis answers; when it cannot be reached, registered without
    // confirmation (the client library restores it on reconnect). Both channels carry hints only.
    private static void SubscribeConfirmed(ISubscriber subscriber, RedisChannel channel, Action<RedisChannel, RedisValue> handler)
    {
        try
        {
            subscriber.Subscribe(channel, handler);
        }
        catch (Exception ex) when (ex is RedisConnectionException or RedisTimeoutException)
        {
            subscriber.Subscribe(channel, handler, CommandFlags.FireAndForget);
        }
    }

    public Task AnnounceLeaseNewsAsync(string worker, CancellationToken cancellationToken = default) =>
        Guard(() => Connection.GetSubscriber().PublishAsync(_keys.LeaseChannel, worker));

    public Task<Claim> ClaimAsync(string worker, TimeSpan ttl, CancellationToken cancellationToken = default) =>
        Guard(async () =>
        {
            var flat = (RedisResult[])(await Db.ScriptEvaluateAsync(Scripts.Claim, [_keys.Workers, _keys.Leases, _keys.Fence], [_keys.Prefix, worker, (long)ttl.TotalMilliseconds, _options.Partitions]))!;
            var leases = new List<Lease>(flat.Length / 2);
            for (var i = 1; i + 1 < flat.Length; i += 2)
            {
                leases.Add(new Lease((int)flat[i], (long)flat[i + 1]));
            }
            return new Claim(leases, (int)flat[0]);
        });

    public Task ReleaseAsync(string worker, IEnumerable<int> partitions, bool leaving = false, CancellationToken cancellationToken = default)
    {
        RedisValue[] args = [_keys.Prefix, worker, leaving ? 1 : 0, .. partitions.Select(p => (RedisValue)p)];
        return Guard(() => Db.ScriptEvaluateAsync(Scripts.Release, [_keys.Workers, _keys.Leases], args));
    }

    public async Task<AckReply> AckAsync(CallbackAddress client, string entryId, Lease lease, CancellationToken cancellationToken = default) =>
        (await AckManyAsync([new AckRequest(client, entryId, lease)], cancellationToken))[0];

    public Task<IReadOnlyList<AckReply>> AckManyAsync(IReadOnlyList<AckRequest> acks, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(acks);
        if (acks.Count == 0)
        {
            return Task.FromResult<IReadOnlyList<AckReply>>([]);
        }
        // ack.lua: the fixed keys, then each ack's queue and client hash; the prefix, then each ack's
        // entry, client, partition and token.
        var keys = new RedisKey[3 + (2 * acks.Count)];
        var args = new RedisValue[1 + (4 * acks.Count)];
        (keys[0], keys[1], keys[2], args[0]) = (_keys.Refs, _keys.Busy, _keys.Leases, _keys.Prefix);
        for (var i = 0; i < acks.Count; i++)
        {
            var (client, entryId, lease) = acks[i];
            var id = RedisKeys.Id(client);
            (keys[3 + (2 * i)], keys[4 + (2 * i)]) = (_keys.Queue(id), _keys.Client(id));
            (args[1 + (4 * i)], args[2 + (4 * i)], args[3 + (4 * i)], args[4 + (4 * i)]) = (entryId, id, lease.Partition, lease.Token);
        }
        return Guard<IReadOnlyList<AckReply>>(async () =>
        {
            var reply = (RedisResult[])(await Db.ScriptEvaluateAsync(Scripts.Ack, keys, args))!;
            var replies = new AckReply[acks.Count];
            for (var i = 0; i < replies.Length; i++)
            {
                replies[i] = new AckReply(ToAckResult((int)reply[2 * i]), (long)reply[(2 * i) + 1] == 0);
            }
            return replies;
        });
    }

    public Task<AckResult> RemoveFailedClientAsync(CallbackAddress client, string reason, Lease lease, CancellationToken cancellationToken = default) =>
        Guard(async () => ToAckResult((int)await Db.ScriptEvaluateAsync(
            Scripts.RemoveFailed,
            [_keys.Leases, _keys.Clients, _keys.Busy, _keys.Removals, _keys.Refs, _keys.Client(RedisKeys.Id(client)), _keys.Queue(RedisKeys.Id(client)), _keys.Part(Partitioning.Of(client, _options.Partitions)), _keys.DeadLetters(RedisKeys.Id(client))],
            [_keys.Prefix, RedisKeys.Id(client), lease.Partition, lease.Token, reason, _options.Partitions,
                _options.DeadLetterMaxCount, (long)_options.DeadLetterMaxAge.TotalMilliseconds])));

    public Task<string> StoreIdentityAsync(CancellationToken cancellationToken = default) =>
        Guard(async () =>
        {
            // The primary that holds this CRNP cluster's keys: on Redis Cluster the master of the hash
            // tag's slot (another master's run_id says nothing about these keys), otherwise the primary.
            // GetServer throws InvalidOperationException when no connected server serves the slot
            // (seen while redis-server restarts): unavailable, like no connected primary at all.
            IServer? primary;
            try
            {
                primary = Connection.GetServer(_keys.Clients, flags: CommandFlags.DemandMaster);
            }
            catch (InvalidOperationException)
            {
                primary = null;
            }
            if (primary is not { IsConnected: true, IsReplica: false })
            {
                throw new StoreUnavailableException("no connected Redis primary");
            }
            var info = await primary.InfoAsync("server");
            return info.SelectMany(g => g).First(p => p.Key == "run_id").Value;
        });

    public Task<IReadOnlyDictionary<int, string>> SyncMarksAsync(CancellationToken cancellationToken = default) =>
        Guard<IReadOnlyDictionary<int, string>>(async () =>
            (await Db.HashGetAllAsync(_keys.Synced)).ToDictionary(e => (int)e.Name, e => (string)e.Value!));

    public Task<bool> InitializeSyncMarksAsync(string identity, CancellationToken cancellationToken = default) =>
        Guard(async () => (int)await Db.ScriptEvaluateAsync(Scripts.InitSynced, [_keys.Synced], [_keys.Prefix, identity, _options.Partitions]) == 1);

    public Task<AckResult> MarkSyncedAsync(Lease lease, string identity, CancellationToken cancellationToken = default) =>
        Guard(async () => ToAckResult((int)await Db.ScriptEvaluateAsync(Scripts.MarkSynced, [_keys.Leases, _keys.Synced], [_keys.Prefix, lease.Partition, lease.Token, identity])));

    public Task<IReadOnlyList<CallbackAddress>> ClientsInPartitionAsync(int partition, CancellationToken cancellationToken = default) =>
        Guard<IReadOnlyList<CallbackAddress>>(async () =>
        {
            var ids = await Db.SetMembersAsync(_keys.Part(partition));
            return [.. ids.Select(id => CallbackAddress.Parse(id!))];
        });

    public Task<(AckResult Result, int Queued)> ResyncAsync(CallbackAddress client, Lease lease, CancellationToken cancellationToken = default) =>
        Guard(async () =>
        {
            var result = (RedisResult[])(await Db.ScriptEvaluateAsync(
                Scripts.Resync,
                [_keys.Leases, _keys.Client(RedisKeys.Id(client)), _keys.Latest, _keys.Queue(RedisKeys.Id(client)), _keys.Refs, _keys.Busy],
                [_keys.Prefix, RedisKeys.Id(client), lease.Partition, lease.Token]))!;
            return (ToAckResult((int)result[0]), (int)result[1]);
        });

    public Task<int> RecordFailureAsync(CallbackAddress client, string reason, CancellationToken cancellationToken = default) =>
        Guard(async () => (int)await Db.ScriptEvaluateAsync(Scripts.RecordFailure, [_keys.Client(RedisKeys.Id(client))], [_keys.Prefix, RedisKeys.Id(client), reason]));

    public Task<DeliveryStatus?> GetDeliveryStatusAsync(CallbackAddress client, CancellationToken cancellationToken = default) =>
        Guard(async () =>
        {
            var id = RedisKeys.Id(client);
            var db = Db;
            var fields = db.HashGetAsync(_keys.Client(id), ["types", "delivered_at", "failures", "failure", "failed_at", "delivered_seq"]);
            var backlog = db.StreamLengthAsync(_keys.Queue(id));
            var values = await fields;
            if (values[0].IsNull)
            {
                return null;
            }
            static DateTimeOffset? Time(RedisValue ms) => ms.IsNull ? null : DateTimeOffset.FromUnixTimeMilliseconds((long)ms);
            return new DeliveryStatus(
                await backlog,
                Time(values[1]),
                values[2].IsNull ? 0 : (int)values[2],
                values[3].IsNull ? null : (string?)values[3],
                Time(values[4]),
                values[5].IsNull ? null : (long)values[5]);
        });

    public Task<IReadOnlyList<RemovalRecord>> ListRemovalsAsync(int max, CancellationToken cancellationToken = default) =>
        Guard<IReadOnlyList<RemovalRecord>>(async () =>
        {
            var entries = await Db.StreamRangeAsync(_keys.Removals, "-", "+", max, Order.Descending);
            return [.. entries.Reverse().Select(Removal)];
        });

    // Stream ids are the cursors; "(" makes the start exclusive (Redis 6.2+).
    public Task<RemovalPage> ReadRemovalsAsync(string? after, int max, CancellationToken cancellationToken = default) =>
        Guard(async () =>
        {
            var entries = await Db.StreamRangeAsync(_keys.Removals, after is null ? "-" : "(" + after, "+", max);
            return new RemovalPage(
                [.. entries.Select(Removal)],
                entries.Length == 0 ? after : (string?)entries[^1].Id);
        });

    private static RemovalRecord Removal(StreamEntry e) =>
        new(CallbackAddress.Parse(e["id"]!), e["reason"]!, DateTimeOffset.FromUnixTimeMilliseconds((long)e["at"]));

    private static AckResult ToAckResult(int code) => code switch
    {
        1 => AckResult.Done,
        0 => AckResult.AlreadyGone,
        _ => AckResult.LeaseLost,
    };

    private sealed class Subscription(Action dispose) : IDisposable
    {
        public void Dispose() => dispose();
    }
}
