using CrnpCloud.Core;
using StackExchange.Redis;

namespace CrnpCloud.Redis;

/// <summary>
/// The global event log read back, replays from it, and dead letters (PROTOCOL.md section 11). Each
/// is one script (Scripts/read_log.lua, replay.lua, list_dead.lua, replay_dead.lua), so a replay is
/// atomic against publishes: nothing published meanwhile is missed or queued twice by it.
/// </summary>
public sealed partial class RedisStore
{
    private long DeadLetterMaxAgeMs => (long)_options.DeadLetterMaxAge.TotalMilliseconds;

    public Task<EventLogPage> ReadEventsAsync(long? after, int max, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(max);
        return Guard(async () =>
        {
            var flat = (RedisResult[])(await Db.ScriptEvaluateAsync(
                Scripts.ReadLog, [_keys.Log], [_keys.Prefix, after is { } a ? a : RedisValue.EmptyString, max]))!;
            return new EventLogPage([.. flat.Skip(2).Select(d => StoreJson.ReadStored((string)d!))], (long)flat[0], (long)flat[1]);
        });
    }

    public Task<ReplayResult> ReplayAsync(CallbackAddress client, long after, CancellationToken cancellationToken = default) =>
        Guard(async () =>
        {
            var result = (RedisResult[])(await Db.ScriptEvaluateAsync(
                Scripts.Replay, [_keys.Log, _keys.Refs, _keys.Busy, _keys.Client(RedisKeys.Id(client)), _keys.Queue(RedisKeys.Id(client))], [_keys.Prefix, RedisKeys.Id(client), after]))!;
            var (queued, oldest) = ((int)result[0], (long)result[1]);
            return queued switch
            {
                -1 => new ReplayResult(ReplayStatus.NotRegistered, 0),
                -2 => new ReplayResult(ReplayStatus.OutOfRange, 0, oldest),
                _ => new ReplayResult(ReplayStatus.Done, queued, oldest),
            };
        });

    public Task<IReadOnlyList<DeadLetter>> ListDeadLettersAsync(CallbackAddress client, int max, CancellationToken cancellationToken = default) =>
        Guard<IReadOnlyList<DeadLetter>>(async () =>
        {
            var flat = (RedisResult[])(await Db.ScriptEvaluateAsync(
                Scripts.ListDeadLetters, [_keys.DeadLetters(RedisKeys.Id(client))], [_keys.Prefix, RedisKeys.Id(client), max, DeadLetterMaxAgeMs]))!;
            var letters = new List<DeadLetter>(flat.Length / 4);
            for (var i = 0; i + 3 < flat.Length; i += 4)
            {
                var entryId = (string)flat[i]!;
                var at = DateTimeOffset.FromUnixTimeMilliseconds(long.Parse(entryId.AsSpan(0, entryId.IndexOf('-', StringComparison.Ordinal)), System.Globalization.CultureInfo.InvariantCulture));
                letters.Add(new DeadLetter(StoreJson.ReadStored((string)flat[i + 3]!), KindOf((string?)flat[i + 1]), (string)flat[i + 2]!, at));
            }
            return letters;
        });

    public Task<ReplayResult> ReplayDeadLettersAsync(CallbackAddress client, CancellationToken cancellationToken = default) =>
        Guard(async () =>
        {
            var queued = (int)await Db.ScriptEvaluateAsync(
                Scripts.ReplayDeadLetters, [_keys.Refs, _keys.Busy, _keys.Client(RedisKeys.Id(client)), _keys.Queue(RedisKeys.Id(client)), _keys.DeadLetters(RedisKeys.Id(client))], [_keys.Prefix, RedisKeys.Id(client), DeadLetterMaxAgeMs]);
            return queued < 0 ? new ReplayResult(ReplayStatus.NotRegistered, 0) : new ReplayResult(ReplayStatus.Done, queued);
        });

    private static QueueEntryKind KindOf(string? kind) => kind switch
    {
        "first" => QueueEntryKind.FirstEvent,
        "resync" => QueueEntryKind.Resync,
        "replay" => QueueEntryKind.Replay,
        _ => QueueEntryKind.Published,
    };
}
