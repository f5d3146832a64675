namespace CrnpCloud.Core;

/// <summary>The delivery side of the embedded store: leases, wake-ups, fenced acks and removals.</summary>
public sealed partial class InMemoryStore
{
    private readonly Dictionary<int, List<Action<CallbackAddress>>> _wakeHandlers = [];
    private readonly List<Action<string>> _leaseNews = [];
    private readonly Dictionary<int, (string Owner, long Token, DateTimeOffset Expires)> _leases = [];
    private readonly Dictionary<string, DateTimeOffset> _workers = new(StringComparer.Ordinal);
    private readonly List<RemovalRecord> _removals = [];
    private long _removalsRecorded; // the cursor of the newest removal: removals are numbered from 1
    private readonly string _identity = Guid.NewGuid().ToString("N");
    private readonly Dictionary<int, string> _syncMarks = [];
    private long _fence;

    public int Partitions { get; } = partitions;

    public IDisposable OnWork(int partition, Action<CallbackAddress> wake)
    {
        lock (_lock)
        {
            if (!_wakeHandlers.TryGetValue(partition, out var handlers))
            {
                _wakeHandlers[partition] = handlers = [];
            }
            handlers.Add(wake);
        }
        return new Unsubscriber(this, partition, wake);
    }

    public Task<IReadOnlyList<Backlog>> ClientsWithWorkAsync(int partition, CancellationToken cancellationToken = default)
    {
        lock (_lock)
        {
            IReadOnlyList<Backlog> clients = [.. _clients.Values
                .Where(c => c.Queue.Count > 0 && Partitioning.Of(c.Registration.Address, Partitions) == partition)
                .Select(c => new Backlog(c.Registration.Address, c.Queue.Count))];
            return Task.FromResult(clients);
        }
    }

    public Task<Claim> ClaimAsync(string worker, TimeSpan ttl, CancellationToken cancellationToken = default)
    {
        lock (_lock)
        {
            var now = _time.GetUtcNow();
            _workers[worker] = now + ttl;
            foreach (var gone in _workers.Where(w => w.Value <= now).Select(w => w.Key).ToList())
            {
                _workers.Remove(gone);
            }

            var fairShare = (Partitions + _workers.Count - 1) / _workers.Count;
            var held = new List<Lease>();
            for (var p = 0; p < Partitions; p++)
            {
                if (_leases.TryGetValue(p, out var lease) && lease.Owner == worker && lease.Expires > now)
                {
                    _leases[p] = lease with { Expires = now + ttl };
                    held.Add(new Lease(p, lease.Token));
                }
            }
            for (var p = 0; p < Partitions && held.Count < fairShare; p++)
            {
                if (!_leases.TryGetValue(p, out var lease) || lease.Expires <= now)
                {
                    var token = ++_fence;
                    _leases[p] = (worker, token, now + ttl);
                    held.Add(new Lease(p, token));
                }
            }
            return Task.FromResult(new Claim(held, fairShare));
        }
    }

    public Task ReleaseAsync(string worker, IEnumerable<int> partitions, bool leaving = false, CancellationToken cancellationToken = default)
    {
        lock (_lock)
        {
            if (leaving)
            {
                _workers.Remove(worker);
            }
            foreach (var p in partitions)
            {
                if (_leases.TryGetValue(p, out var lease) && lease.Owner == worker)
                {
                    _leases.Remove(p);
                }
            }
            return Task.CompletedTask;
        }
    }

    public IDisposable OnLeaseNews(Action<string> news)
    {
        lock (_lock)
        {
            _leaseNews.Add(news);
        }
        return new Disposer(() =>
        {
            lock (_lock)
            {
                _leaseNews.Remove(news);
            }
        });
    }

    public Task AnnounceLeaseNewsAsync(string worker, CancellationToken cancellationToken = default)
    {
        Action<string>[] listeners;
        lock (_lock)
        {
            listeners = [.. _leaseNews];
        }
        foreach (var listener in listeners)
        {
            listener(worker);
        }
        return Task.CompletedTask;
    }

    public Task<AckReply> AckAsync(CallbackAddress client, string entryId, Lease lease, CancellationToken cancellationToken = default)
    {
        lock (_lock)
        {
            return Task.FromResult(Ack(client, entryId, lease));
        }
    }

    public Task<IReadOnlyList<AckReply>> AckManyAsync(IReadOnlyList<AckRequest> acks, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(acks);
        lock (_lock)
        {
            return Task.FromResult<IReadOnlyList<AckReply>>([.. acks.Select(a => Ack(a.Client, a.EntryId, a.Lease))]);
        }
    }

    private AckReply Ack(CallbackAddress client, string entryId, Lease lease)
    {
        if (!Holds(lease))
        {
            return new AckReply(AckResult.LeaseLost, false);
        }
        // Acks come in queue order, so the entry is found at the head.
        var sequence = _clients.TryGetValue(client, out var state) ? state.Queue.FirstOrDefault(e => e.EntryId == entryId)?.Event.Sequence : null;
        if (state is null || !RemoveEntry(client, entryId))
        {
            return new AckReply(AckResult.AlreadyGone, !_clients.TryGetValue(client, out var gone) || gone.Queue.Count == 0);
        }
        state.LastDelivery = _time.GetUtcNow();
        state.LastDeliveredSequence = sequence;
        state.Failures = 0;
        return new AckReply(AckResult.Done, state.Queue.Count == 0);
    }

    public Task<int> RecordFailureAsync(CallbackAddress client, string reason, CancellationToken cancellationToken = default)
    {
        lock (_lock)
        {
            if (!_clients.TryGetValue(client, out var state))
            {
                return Task.FromResult(0);
            }
            state.Failures++;
            state.LastFailure = reason;
            state.LastFailureAt = _time.GetUtcNow();
            return Task.FromResult(state.Failures);
        }
    }

    public Task<DeliveryStatus?> GetDeliveryStatusAsync(CallbackAddress client, CancellationToken cancellationToken = default)
    {
        lock (_lock)
        {
            return Task.FromResult(_clients.TryGetValue(client, out var s)
                ? new DeliveryStatus(s.Queue.Count, s.LastDelivery, s.Failures, s.LastFailure, s.LastFailureAt, s.LastDeliveredSequence)
                : null);
        }
    }

    public Task<AckResult> RemoveFailedClientAsync(CallbackAddress client, string reason, Lease lease, CancellationToken cancellationToken = default)
    {
        lock (_lock)
        {
            if (!Holds(lease))
            {
                return Task.FromResult(AckResult.LeaseLost);
            }
            DeadLetterQueue(client, reason);
            if (RemoveClient(client).Status != Protocol.StatusCode.Ok)
            {
                return Task.FromResult(AckResult.AlreadyGone);
            }
            _removals.Add(new RemovalRecord(client, reason, _time.GetUtcNow()));
            _removalsRecorded++;
            if (_removals.Count > 10_000)
            {
                _removals.RemoveRange(0, _removals.Count - 10_000);
            }
            return Task.FromResult(AckResult.Done);
        }
    }

    public Task<string> StoreIdentityAsync(CancellationToken cancellationToken = default) => Task.FromResult(_identity);

    public Task<IReadOnlyDictionary<int, string>> SyncMarksAsync(CancellationToken cancellationToken = default)
    {
        lock (_lock)
        {
            return Task.FromResult<IReadOnlyDictionary<int, string>>(new Dictionary<int, string>(_syncMarks));
        }
    }

    public Task<bool> InitializeSyncMarksAsync(string identity, CancellationToken cancellationToken = default)
    {
        lock (_lock)
        {
            if (_syncMarks.Count > 0)
            {
                return Task.FromResult(false);
            }
            for (var p = 0; p < Partitions; p++)
            {
                _syncMarks[p] = identity;
            }
            return Task.FromResult(true);
        }
    }

    public Task<AckResult> MarkSyncedAsync(Lease lease, string identity, CancellationToken cancellationToken = default)
    {
        lock (_lock)
        {
            if (!Holds(lease))
            {
                return Task.FromResult(AckResult.LeaseLost);
            }
            _syncMarks[lease.Partition] = identity;
            return Task.FromResult(AckResult.Done);
        }
    }

    public Task<IReadOnlyList<CallbackAddress>> ClientsInPartitionAsync(int partition, CancellationToken cancellationToken = default)
    {
        lock (_lock)
        {
            return Task.FromResult<IReadOnlyList<CallbackAddress>>([.. _clients.Keys.Where(c => Partitioning.Of(c, Partitions) == partition)]);
        }
    }

    public Task<(AckResult Result, int Queued)> ResyncAsync(CallbackAddress client, Lease lease, CancellationToken cancellationToken = default)
    {
        lock (_lock)
        {
            if (!Holds(lease))
            {
                return Task.FromResult((AckResult.LeaseLost, 0));
            }
            if (!_clients.TryGetValue(client, out var state))
            {
                return Task.FromResult((AckResult.AlreadyGone, 0));
            }
            return Task.FromResult((AckResult.Done, QueueFirstEvents(state, state.Registration.Types, QueueEntryKind.Resync)));
        }
    }

    public Task<IReadOnlyList<RemovalRecord>> ListRemovalsAsync(int max, CancellationToken cancellationToken = default)
    {
        lock (_lock)
        {
            return Task.FromResult<IReadOnlyList<RemovalRecord>>([.. _removals.TakeLast(max)]);
        }
    }

    public Task<RemovalPage> ReadRemovalsAsync(string? after, int max, CancellationToken cancellationToken = default)
    {
        var from = after is null ? 0 : long.Parse(after, System.Globalization.CultureInfo.InvariantCulture);
        lock (_lock)
        {
            var first = _removalsRecorded - _removals.Count + 1; // the number of _removals[0]
            var skip = (int)Math.Clamp(from - first + 1, 0, _removals.Count);
            var page = _removals.Skip(skip).Take(max).ToList();
            return Task.FromResult(new RemovalPage(page, page.Count == 0 ? after : (first + skip + page.Count - 1).ToString(System.Globalization.CultureInfo.InvariantCulture)));
        }
    }

    private bool Holds(Lease lease) =>
        _leases.TryGetValue(lease.Partition, out var current) && current.Token == lease.Token && current.Expires > _time.GetUtcNow();

    // Called under the lock; handlers only signal (they must not block).
    private void Wake(CallbackAddress client)
    {
        if (_wakeHandlers.Count == 0 || !_wakeHandlers.TryGetValue(Partitioning.Of(client, Partitions), out var handlers))
        {
            return;
        }
        foreach (var handler in handlers)
        {
            handler(client);
        }
    }

    private sealed class Disposer(Action dispose) : IDisposable
    {
        public void Dispose() => dispose();
    }

    private sealed class Unsubscriber(InMemoryStore store, int partition, Action<CallbackAddress> handler) : IDisposable
    {
        public void Dispose()
        {
            lock (store._lock)
            {
                if (store._wakeHandlers.TryGetValue(partition, out var handlers))
                {
                    handlers.Remove(handler);
                }
            }
        }
    }
}
