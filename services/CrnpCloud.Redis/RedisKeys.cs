using System.Globalization;
using CrnpCloud.Core;
using StackExchange.Redis;

namespace CrnpCloud.Redis;

/// <summary>
/// The key layout (docs/redis.md), all under one hash tag <c>{cluster}</c>: every key of one CRNP
/// cluster is in one Redis Cluster slot, so every script and multi-key command of the store is too.
/// </summary>
internal sealed class RedisKeys(RedisStoreOptions options)
{
    public string Prefix { get; } = $"{options.KeyPrefix}{{{options.Cluster}}}";

    public RedisKey Clients => Prefix + ":clients";

    public RedisKey Latest => Prefix + ":latest";

    public RedisKey Log => Prefix + ":log";

    public RedisKey Sequence => Prefix + ":seq";

    public RedisKey Client(string id) => Prefix + ":client:" + id;

    public RedisKey Queue(string id) => Prefix + ":q:" + id;

    public RedisKey Settings => Prefix + ":settings";

    /// <summary>The cluster networks, apart from <see cref="Settings"/>: each has its own writer.</summary>
    public RedisKey ClusterNetworks => Prefix + ":settings:networks";

    public RedisKey Idempotency(string key) => Prefix + ":idem:" + key;

    /// <summary>Payload reference counts (field = sequence) of the events queue entries point to.</summary>
    public RedisKey Refs => Prefix + ":refs";

    /// <summary>Clients with a non-empty queue, of every partition.</summary>
    public RedisKey Busy => Prefix + ":busy";

    /// <summary>A per-partition busy set left by an older version (work.lua folds it into <see cref="Busy"/>).</summary>
    public RedisKey OlderBusy(int partition) => Prefix + ":busy:" + partition.ToString(CultureInfo.InvariantCulture);

    /// <summary>A removed client's dead letters (PROTOCOL.md section 11).</summary>
    public RedisKey DeadLetters(string id) => Prefix + ":dl:" + id;

    /// <summary>The clients of one partition.</summary>
    public RedisKey Part(int partition) => Prefix + ":part:" + partition.ToString(CultureInfo.InvariantCulture);

    public RedisKey Leases => Prefix + ":leases";

    public RedisKey Workers => Prefix + ":workers";

    public RedisKey Fence => Prefix + ":fence";

    public RedisKey Synced => Prefix + ":synced";

    public RedisKey Removals => Prefix + ":removals";

    /// <summary>Wake-ups of delivery workers (Pub/Sub; classic PUBLISH reaches every node of a Redis Cluster).</summary>
    public RedisChannel WakeChannel => RedisChannel.Literal(Prefix + ":wake");

    /// <summary>Lease news between delivery workers (Pub/Sub, like <see cref="WakeChannel"/>).</summary>
    public RedisChannel LeaseChannel => RedisChannel.Literal(Prefix + ":leases");

    public static string Id(CallbackAddress address) => address.ToString();
}
