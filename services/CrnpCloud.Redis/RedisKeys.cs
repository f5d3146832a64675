using CrnpCloud.Core;
using StackExchange.Redis;

namespace CrnpCloud.Redis;

/// <summary>The key layout of ARCHITECTURE.md, all under one hash tag <c>{cluster}</c>.</summary>
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

    public static string Id(CallbackAddress address) => address.ToString();
}
