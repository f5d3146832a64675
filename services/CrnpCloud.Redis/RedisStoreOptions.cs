using System.ComponentModel.DataAnnotations;
using CrnpCloud.Core;

namespace CrnpCloud.Redis;

/// <summary>Where the shared state lives, section <c>Crnp:Store</c>.</summary>
public sealed class RedisStoreOptions
{
    public const string Section = "Crnp:Store";

    /// <summary>
    /// StackExchange.Redis configuration string (<c>host:port,password=...</c>; with
    /// <c>serviceName=NAME</c> the endpoints are Sentinels), a <c>redis://[:password@]host:port[/db]</c>
    /// URL (<c>rediss://</c> for TLS), or a Sentinel URL
    /// <c>redis+sentinel://[:password@]host1[:26379][,host2[:26379]...]/SERVICE[/db]</c>
    /// (<c>rediss+sentinel://</c> for TLS); empty = the embedded in-memory store.
    /// </summary>
    public string? Redis { get; set; }

    /// <summary>Redis password, kept apart from <see cref="Redis"/> so it can come from a Secret; overrides one in the connection string. With Sentinel: the data nodes' password (and the Sentinels' too, unless <see cref="SentinelPassword"/> is set).</summary>
    public string? Password { get; set; }

    /// <summary>Password of the Sentinel daemons when it differs from the data nodes' (<c>requirepass</c> in sentinel.conf); empty = <see cref="Password"/>.</summary>
    public string? SentinelPassword { get; set; }

    /// <summary>
    /// Replicas that must confirm a publish or a registration (Redis <c>WAIT</c>) before it is
    /// acknowledged; 0 = acknowledged once the primary applied it (asynchronous replication: a
    /// failover may lose the last writes). PROTOCOL.md section 12.
    /// </summary>
    [Range(SettingLimits.MinReplicasMin, SettingLimits.MinReplicasMax)]
    public int MinReplicas { get; set; }

    /// <summary>How long a write waits for <see cref="MinReplicas"/> confirmations before it is refused as not replicated.</summary>
    [DurationRange("1ms", "1m")]
    public TimeSpan ReplicationTimeout { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// The CRNP cluster this installation serves. It is the Redis hash tag of every key, so one cluster
    /// lives in one Redis Cluster slot and Lua scripts may touch all of its keys.
    /// </summary>
    [Required]
    [RegularExpression(SettingLimits.ClusterNamePattern, ErrorMessage = "Cluster must be 1-64 characters of letters, digits, '_', '.', '-'")]
    public string Cluster { get; set; } = "default";

    /// <summary>
    /// Prefix of every key, before the hash tag; tests use a unique one each. No braces: Redis hashes
    /// the first <c>{...}</c> of a key, and an empty <c>{}</c> in the prefix would hash whole keys,
    /// spreading one cluster over many slots (docs/redis.md).
    /// </summary>
    [Required]
    [RegularExpression(@"^[^{}]*$", ErrorMessage = "KeyPrefix must not contain '{{' or '}}': the hash tag is {{Cluster}}")]
    public string KeyPrefix { get; set; } = "crnp:";

    /// <summary>Partitions clients hash to; the unit of work a delivery worker leases. Same value in every service.</summary>
    [Range(SettingLimits.PartitionsMin, SettingLimits.PartitionsMax)]
    public int Partitions { get; set; } = 64;

    /// <summary>Approximate length the global event log is trimmed to.</summary>
    [Range(1000, 100_000_000)]
    public int LogMaxLength { get; set; } = 100_000;

    /// <summary>Dead letters kept per client removed by the delivery pool (PROTOCOL.md section 11); the oldest go first.</summary>
    [Range(SettingLimits.DeadLetterMaxCountMin, SettingLimits.DeadLetterMaxCountMax)]
    public int DeadLetterMaxCount { get; set; } = 1000;

    /// <summary>How long dead letters are kept after their client was removed.</summary>
    [DurationRange(SettingLimits.DeadLetterMaxAgeMin, SettingLimits.DeadLetterMaxAgeMax)]
    public TimeSpan DeadLetterMaxAge { get; set; } = TimeSpan.FromDays(7);
}
