namespace CrnpCloud.Core;

/// <summary>The embedded store's event log, replays and dead letters (PROTOCOL.md section 11).</summary>
public sealed partial class InMemoryStore
{
    // Sequences are consecutive (a duplicate publish takes none), so the log is indexed by sequence - oldest.
    private readonly List<StoredEvent> _log = [];
    private readonly Dictionary<CallbackAddress, List<DeadLetter>> _deadLetters = [];

    /// <summary>Events the global log keeps (the oldest go first), as <c>Crnp:Store:LogMaxLength</c> for Redis.</summary>
    public int LogMaxLength { get; init; } = 100_000;

    /// <summary>Dead letters kept per client, and for how long.</summary>
    public DeadLetterLimits DeadLetters { get; init; } = new();

    public Task<EventLogPage> ReadEventsAsync(long? after, int max, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(max);
        lock (_lock)
        {
            var start = after is { } a ? StartAfter(a) : Math.Max(0, _log.Count - max);
            IReadOnlyList<StoredEvent> events = [.. _log.Skip(start).Take(max)];
            return Task.FromResult(new EventLogPage(events, _log.Count > 0 ? _log[0].Sequence : 0, _log.Count > 0 ? _log[^1].Sequence : 0));
        }
    }

    public Task<ReplayResult> ReplayAsync(CallbackAddress client, long after, CancellationToken cancellationToken = default)
    {
        lock (_lock)
        {
            if (!_clients.TryGetValue(client, out var state))
            {
                return Task.FromResult(new ReplayResult(ReplayStatus.NotRegistered, 0));
            }
            var oldest = _log.Count > 0 ? _log[0].Sequence : 0;
            if (_log.Count > 0 && after + 1 < oldest)
            {
                return Task.FromResult(new ReplayResult(ReplayStatus.OutOfRange, 0, oldest));
            }
            var queued = 0;
            foreach (var stored in _log.Skip(StartAfter(after)))
            {
                if (EventMatcher.MatchesAny(state.Registration.Types, stored.Event))
                {
                    Enqueue(state, QueueEntryKind.Replay, stored);
                    queued++;
                }
            }
            return Task.FromResult(new ReplayResult(ReplayStatus.Done, queued, oldest));
        }
    }

    public Task<IReadOnlyList<DeadLetter>> ListDeadLettersAsync(CallbackAddress client, int max, CancellationToken cancellationToken = default)
    {
        lock (_lock)
        {
            IReadOnlyList<DeadLetter> letters = [.. LiveDeadLetters(client).Take(max)];
            return Task.FromResult(letters);
        }
    }

    public Task<ReplayResult> ReplayDeadLettersAsync(CallbackAddress client, CancellationToken cancellationToken = default)
    {
        lock (_lock)
        {
            if (!_clients.TryGetValue(client, out var state))
            {
                return Task.FromResult(new ReplayResult(ReplayStatus.NotRegistered, 0));
            }
            var letters = LiveDeadLetters(client);
            foreach (var letter in letters)
            {
                Enqueue(state, QueueEntryKind.Replay, letter.Event);
            }
            _deadLetters.Remove(client);
            return Task.FromResult(new ReplayResult(ReplayStatus.Done, letters.Count));
        }
    }

    // Under the lock, from PublishAsync.
    private void AppendToLog(StoredEvent stored)
    {
        _log.Add(stored);
        if (_log.Count > LogMaxLength)
        {
            _log.RemoveRange(0, _log.Count - LogMaxLength);
        }
    }

    // Under the lock, from RemoveFailedClientAsync, before the client (and its queue) is removed.
    private void DeadLetterQueue(CallbackAddress client, string reason)
    {
        if (!_clients.TryGetValue(client, out var state) || state.Queue.Count == 0)
        {
            return;
        }
        var now = _time.GetUtcNow();
        var letters = LiveDeadLetters(client);
        letters.AddRange(state.Queue.Select(e => new DeadLetter(e.Event, e.Kind, reason, now)));
        if (letters.Count > DeadLetters.DeadLetterMaxCount)
        {
            letters.RemoveRange(0, letters.Count - DeadLetters.DeadLetterMaxCount);
        }
        _deadLetters[client] = letters;
    }

    // The client's dead letters within the age limit; older ones are dropped here.
    private List<DeadLetter> LiveDeadLetters(CallbackAddress client)
    {
        if (!_deadLetters.TryGetValue(client, out var letters))
        {
            return [];
        }
        var oldest = _time.GetUtcNow() - DeadLetters.DeadLetterMaxAge;
        letters.RemoveAll(l => l.DeadAt <= oldest);
        if (letters.Count == 0)
        {
            _deadLetters.Remove(client);
        }
        return letters;
    }

    private int StartAfter(long after) =>
        _log.Count == 0 ? 0 : (int)Math.Clamp(after + 1 - _log[0].Sequence, 0, _log.Count);
}
