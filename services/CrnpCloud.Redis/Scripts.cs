using System.Reflection;

namespace CrnpCloud.Redis;

/// <summary>The Lua scripts, each with the shared library prepended; StackExchange.Redis caches them by SHA.</summary>
/// <remarks>
/// Keys on Redis Cluster (docs/redis.md, "Scripts: declared and derived keys"): every call passes in
/// KEYS each fixed key its script touches and the per-client or per-partition keys the caller knows
/// (client:&lt;id&gt;, q:&lt;id&gt;, part:&lt;n&gt;, ...); the script checks them with <c>declare</c> and reaches them
/// only through <c>key</c>/<c>member</c> (Scripts/lib.lua). Keys only the script can know (index sets,
/// ev:&lt;seq&gt;, the queues and hashes of the clients an event matched) are derived from the prefix: they
/// carry the same hash tag {cluster}, so they are in the slot of the declared keys, on the master that
/// runs the script, which StackExchange.Redis picks by the declared keys. Never call a script with no key.
/// </remarks>
internal static class Scripts
{
    public static readonly string Apply = Load("apply.lua");

    public static readonly string Publish = Load("publish.lua");

    public static readonly string Ack = Load("ack.lua");

    public static readonly string Peek = Load("peek.lua");

    public static readonly string Claim = Load("claim.lua");

    public static readonly string Release = Load("release.lua");

    public static readonly string RemoveFailed = Load("remove_failed.lua");

    public static readonly string Work = Load("work.lua");

    public static readonly string Resync = Load("resync.lua");

    public static readonly string MarkSynced = Load("mark_synced.lua");

    public static readonly string InitSynced = Load("init_synced.lua");

    public static readonly string RecordFailure = Load("record_failure.lua");

    public static readonly string ReadLog = LoadHistory("read_log.lua");

    public static readonly string Replay = LoadHistory("replay.lua");

    public static readonly string ListDeadLetters = LoadHistory("list_dead.lua");

    public static readonly string ReplayDeadLetters = LoadHistory("replay_dead.lua");

    private static string Load(string name) => Read("lib.lua") + "\n" + Read(name);

    private static string LoadHistory(string name) => Read("lib.lua") + "\n" + Read("history.lua") + "\n" + Read(name);

    private static string Read(string name)
    {
        var assembly = typeof(Scripts).Assembly;
        var resource = assembly.GetManifestResourceNames().Single(n => n.EndsWith("." + name, StringComparison.Ordinal));
        using var stream = assembly.GetManifestResourceStream(resource)!;
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }
}
