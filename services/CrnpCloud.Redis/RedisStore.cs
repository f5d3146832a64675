using System.Globalization;
using System.Net;
using CrnpCloud.Core;
using CrnpCloud.Protocol;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace CrnpCloud.Redis;

/// <summary>
/// The store contract on Redis. Every change that touches several keys is one Lua script, so it is
/// atomic against every other client of the same Redis; with AOF on, state survives a restart.
/// Reads are plain commands. When Redis cannot be reached the call fails fast with
/// <see cref="StoreUnavailableException"/> and nothing was applied.
/// </summary>
public sealed partial class RedisStore : ICrnpStore
{
    private readonly IConnectionMultiplexer? _fixed;
    private readonly RedisStoreOptions _options;
    private readonly TimeProvider _time;
    private readonly RedisKeys _keys;
    private readonly SentinelConnection? _sentinel;

    public RedisStore(IConnectionMultiplexer redis, IOptions<RedisStoreOptions> options, TimeProvider? time = null)
        : this(options, time)
    {
        _fixed = redis;
    }

    /// <summary>A store through Sentinel: only ever the primary the Sentinels name (<see cref="SentinelConnection"/>).</summary>
    public RedisStore(SentinelConnection sentinel, IOptions<RedisStoreOptions> options, TimeProvider? time = null)
        : this(options, time)
    {
        _sentinel = sentinel;
        sentinel.Switched += Resubscribe;
    }

    private RedisStore(IOptions<RedisStoreOptions> options, TimeProvider? time)
    {
        _options = options.Value;
        _time = time ?? TimeProvider.System;
        _keys = new RedisKeys(_options);
    }

    // The connection of the moment: through Sentinel it changes with the primary (an operation takes it
    // once, so its write and its WAIT go to the same node).
    private IConnectionMultiplexer Connection => _fixed ?? _sentinel!.Current ?? throw new StoreUnavailableException("the Sentinels name no primary yet");

    private IDatabase Db => Connection.GetDatabase();

    public Task PingAsync(CancellationToken cancellationToken = default) => Guard(() => Db.PingAsync());

    public Task<RegistrationResult> ApplyAsync(RegistrationChange change, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(change);
        var id = RedisKeys.Id(change.Client);
        return Guard(async () =>
        {
            var db = Db;
            var result = (RedisResult[])(await db.ScriptEvaluateAsync(
                Scripts.Apply,
                [_keys.Clients, _keys.Client(id), _keys.Latest, _keys.Queue(id), _keys.Refs, _keys.Busy, _keys.Part(Partitioning.Of(change.Client, _options.Partitions))],
                [
                    change.Type.ToWire(),
                    id,
                    StoreJson.Array(change.Types.Select(StoreJson.Type)),
                    change.Limits.MaxClients,
                    change.Limits.MaxTypesPerClient,
                    change.Origin.ToString(),
                    Now(),
                    _keys.Prefix,
                    change.Client.Ip.ToString(),
                    change.Client.Port,
                    _options.Partitions,
                ]))!;
            if (!StatusCodes.TryParse((string?)result[0], out var status))
            {
                throw new InvalidOperationException($"registration script returned an unknown status '{result[0]}'");
            }
            if (status == StatusCode.Ok)
            {
                await ConfirmReplicatedAsync(db.Multiplexer);
            }
            return new RegistrationResult(status, (string)result[1]!, (int)result[2]);
        });
    }

    // Two keys, two writers (ISettingsStore): one MGET reads both at one point in time.
    public Task<ServerSettings> GetSettingsAsync(CancellationToken cancellationToken = default) =>
        Guard(async () =>
        {
            var values = await Db.StringGetAsync([_keys.Settings, _keys.ClusterNetworks]);
            var settings = values[0].IsNullOrEmpty ? ServerSettings.None : ServerSettings.FromJson(values[0]!);
            return settings with { ClusterNetworks = values[1].IsNullOrEmpty ? [] : ServerSettings.NetworksFromJson(values[1]!) };
        });

    public Task SetSettingsAsync(ServerSettings settings, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(settings);
        return Guard(() => Db.StringSetAsync(_keys.Settings, settings.WithoutClusterNetworks().ToJson()));
    }

    public Task SetClusterNetworksAsync(IReadOnlyList<string> networks, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(networks);
        return Guard(() => Db.StringSetAsync(_keys.ClusterNetworks, ServerSettings.NetworksToJson(networks)));
    }

    public Task<ClientRegistration?> GetClientAsync(CallbackAddress client, CancellationToken cancellationToken = default) =>
        Guard(async () => ToRegistration(await Db.HashGetAllAsync(_keys.Client(RedisKeys.Id(client)))));

    public Task<IReadOnlyList<ClientRegistration>> ListClientsAsync(CancellationToken cancellationToken = default) =>
        Guard<IReadOnlyList<ClientRegistration>>(async () =>
        {
            var db = Db;
            var ids = await db.SetMembersAsync(_keys.Clients);
            var hashes = await Task.WhenAll(ids.Select(id => db.HashGetAllAsync(_keys.Client(id!))));
            return [.. hashes.Select(ToRegistration).OfType<ClientRegistration>()];
        });

    public Task<PublishResult> PublishAsync(CrnpEvent evt, PublishOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(evt);
        options ??= new PublishOptions();
        var json = StoreJson.Event(evt);
        var now = Now();
        RedisKey idempotency = options.IdempotencyKey is { } key ? _keys.Idempotency(key) : _keys.Idempotency("");
        return Guard(async () =>
        {
            var db = Db;
            var result = (RedisResult[])(await db.ScriptEvaluateAsync(
                Scripts.Publish,
                [_keys.Sequence, _keys.Latest, _keys.Log, idempotency, _keys.Refs, _keys.Busy],
                [
                    json, StateKey.For(evt), options.TraceParent ?? string.Empty, now, _keys.Prefix, _options.LogMaxLength,
                    options.IdempotencyKey is null ? 0 : Math.Max(1, (long)options.IdempotencyWindow.TotalMilliseconds),
                ]))!;
            await ConfirmReplicatedAsync(db.Multiplexer);
            var sequence = (long)result[0];
            var stored = new StoredEvent(sequence, sequence.ToString(CultureInfo.InvariantCulture), evt, options.TraceParent, DateTimeOffset.FromUnixTimeMilliseconds(now));
            return new PublishResult(stored, (int)result[1], (int)result[2] == 1);
        });
    }

    public Task<IReadOnlyList<StoredEvent>> GetLatestAsync(CancellationToken cancellationToken = default) =>
        Guard<IReadOnlyList<StoredEvent>>(async () =>
        {
            var values = await Db.HashValuesAsync(_keys.Latest);
            return [.. values.Select(v => StoreJson.ReadStored(v!)).OrderBy(e => e.Sequence)];
        });

    public Task<IReadOnlyList<QueueEntry>> PeekQueueAsync(CallbackAddress client, int max, CancellationToken cancellationToken = default) =>
        Guard<IReadOnlyList<QueueEntry>>(async () =>
        {
            var flat = (RedisResult[])(await Db.ScriptEvaluateAsync(Scripts.Peek, [_keys.Queue(RedisKeys.Id(client))], [max, _keys.Prefix]))!;
            var entries = new List<QueueEntry>(flat.Length / 3);
            for (var i = 0; i + 2 < flat.Length; i += 3)
            {
                var kind = (string?)flat[i + 1] switch
                {
                    "first" => QueueEntryKind.FirstEvent,
                    "resync" => QueueEntryKind.Resync,
                    "replay" => QueueEntryKind.Replay,
                    _ => QueueEntryKind.Published,
                };
                entries.Add(new QueueEntry((string)flat[i]!, kind, StoreJson.ReadStored((string)flat[i + 2]!)));
            }
            return entries;
        });

    /// <summary>The global event log, oldest first (as far as it has not been trimmed).</summary>
    public Task<IReadOnlyList<StoredEvent>> ReadLogAsync(int max, CancellationToken cancellationToken = default) =>
        Guard<IReadOnlyList<StoredEvent>>(async () =>
        {
            var entries = await Db.StreamRangeAsync(_keys.Log, "-", "+", max);
            return [.. entries.Select(e => StoreJson.ReadStored(e["d"]!))];
        });

    private long Now() => _time.GetUtcNow().ToUnixTimeMilliseconds();

    private static ClientRegistration? ToRegistration(HashEntry[] hash)
    {
        if (hash.Length == 0)
        {
            return null;
        }
        var fields = hash.ToDictionary(h => h.Name.ToString(), h => h.Value.ToString(), StringComparer.Ordinal);
        return new ClientRegistration(
            new CallbackAddress(IPAddress.Parse(fields["ip"]), int.Parse(fields["port"], CultureInfo.InvariantCulture)),
            StoreJson.ReadTypes(fields["types"]),
            Enum.Parse<RegistrationOrigin>(fields["origin"]),
            DateTimeOffset.FromUnixTimeMilliseconds(long.Parse(fields["at"], CultureInfo.InvariantCulture)));
    }

    // Connection trouble and a Redis that is loading or read-only are transient: the caller answers
    // RETRY / UNAVAILABLE. Anything else is a real fault and propagates as it is. Through Sentinel,
    // nothing is sent unless the connection is to the primary the Sentinels name, and a command that
    // took the old connection just before a switch closed it finds it disposed: that is the switch,
    // transient like the commands the switch cut off in flight (SentinelConnection.SwitchAsync).
    private async Task<T> Guard<T>(Func<Task<T>> operation)
    {
        _sentinel?.Verify();
        try
        {
            return await operation();
        }
        catch (Exception ex) when (ex is RedisConnectionException or RedisTimeoutException
            || (ex is RedisServerException server && IsTransient(server.Message))
            || (ex is ObjectDisposedException && _sentinel is { IsDisposed: false }))
        {
            throw new StoreUnavailableException("Redis is unavailable: " + ex.Message, ex);
        }
    }

    private static bool IsTransient(string message) =>
        message.StartsWith("LOADING", StringComparison.Ordinal)
        || message.StartsWith("READONLY", StringComparison.Ordinal)
        || message.StartsWith("MASTERDOWN", StringComparison.Ordinal)
        || message.StartsWith("TRYAGAIN", StringComparison.Ordinal);
}
