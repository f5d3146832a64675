using System.Diagnostics;
using System.Globalization;
using System.Net;
using CrnpCloud.Core;
using CrnpCloud.Protocol;
using CrnpCloud.Testing;
using Xunit.Abstractions;

namespace CrnpCloud.Redis.Tests;

/// <summary>
/// What a redis-server with <c>appendfsync everysec</c> (the chart's setting:
/// charts/crnpcloud/templates/redis.yaml) keeps of acknowledged publishes when it is killed -9 under
/// continuous publishing: one publisher, one event at a time, through the store the ingest uses (a
/// publish is acknowledged when <see cref="RedisStore.PublishAsync"/> returned). Afterwards the
/// registered client's queue is read back from the restarted server.
/// <para>
/// The bound asserted is the one everysec documents, not zero: what was lost is at most the last
/// ~2 s of acknowledged writes (Redis may postpone an AOF write up to 2 s while a background fsync
/// is slow), plus 1 s of scheduling slack for a loaded 2-core machine; and what survives is a prefix
/// of what was published, never a gap in the middle. The figures are printed.
/// </para>
/// <para>
/// A kill -9 (like a container kill) leaves the kernel's page cache alone, so the AOF written before
/// an answer survives it even if not yet fsynced; what everysec can lose beyond that (a kernel crash
/// or power loss on the Redis node: up to ~1-2 s) cannot be produced on this machine.
/// </para>
/// </summary>
public sealed class RedisDurabilityTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Documented = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan SchedulingSlack = TimeSpan.FromSeconds(1);
    private static readonly CallbackAddress Client = new(IPAddress.Loopback, 9001);

    [Fact]
    public async Task EverySec_KillNineUnderLoad_LosesAtMostTheLastSeconds_AndKeepsAPrefix()
    {
        var run = await KillUnderLoadAsync("everysec", TimeSpan.FromSeconds(5));
        output.WriteLine(run.ToString());

        Assert.True(run.Acknowledged.Count >= 100, $"the publisher made progress before the kill: {run}");
        Assert.True(run.SurvivorsAreAPrefix, $"what survived is not a prefix of what was published (a gap or reordering): {run}");
        Assert.True(run.LostAge <= Documented + SchedulingSlack,
            $"acknowledged events older than {Documented.TotalSeconds} s (+{SchedulingSlack.TotalSeconds} s slack) before the kill were lost: {run}");
    }

    private static async Task<Run> KillUnderLoadAsync(string appendFsync, TimeSpan publishFor)
    {
        await using var redis = await RedisServer.StartAsync(appendFsync);
        var prefix = RedisStores.UniquePrefix();
        var publishing = await RedisStores.ConnectAsync(redis);
        var store = RedisStores.Create(publishing, prefix);
        var registered = await store.ApplyAsync(new RegistrationChange(RegistrationType.AddClient, Client,
            EquatableList.Of(new EventRegistration("EC_Cluster", "ESC_cluster_membership")), RegistrationLimits.Default));
        Assert.Equal(StatusCode.Ok, registered.Status);

        // Acknowledgement times, by event number (event n is published only after n - 1 was acknowledged).
        var clock = Stopwatch.StartNew();
        var acknowledged = new List<TimeSpan>();
        using var stop = new CancellationTokenSource();
        var publisher = Task.Run(async () =>
        {
            for (var n = 0; !stop.IsCancellationRequested; n++)
            {
                try
                {
                    await store.PublishAsync(new CrnpEvent("EC_Cluster", "ESC_cluster_membership", "SUNW", "durability",
                        new NameValue("node_list", "n1"), new NameValue("state_list", n.ToString(CultureInfo.InvariantCulture))));
                }
                catch (Exception)
                {
                    return; // redis-server is gone: this one and any later one are not acknowledged
                }
                lock (acknowledged)
                {
                    acknowledged.Add(clock.Elapsed);
                }
            }
        });

        await Task.Delay(publishFor);
        // Taken before the signal, so a lost event's age is never overstated; an acknowledgement may still
        // land in the few milliseconds before the process dies (the publishing connection is closed
        // before the restart, so none can come from the restarted server).
        var killedAt = clock.Elapsed;
        await redis.KillAsync();
        await stop.CancelAsync();
        await publishing.DisposeAsync(); // fails whatever is still in flight
        await publisher;
        TimeSpan[] acked;
        lock (acknowledged)
        {
            acked = [.. acknowledged];
        }

        await redis.StartAsync(CancellationToken.None);
        await using var reading = await RedisStores.ConnectAsync(redis);
        var queue = await RedisStores.Create(reading, prefix).PeekQueueAsync(Client, acked.Length + 100);
        var survived = queue.Where(e => e.Kind == QueueEntryKind.Published)
            .Select(e => int.Parse(e.Event.Event.NameValues.Single(p => p.Name == "state_list").Values[0], CultureInfo.InvariantCulture))
            .ToList();
        return new Run(appendFsync, acked, survived, killedAt);
    }

    /// <summary>One kill: acknowledgement times by event number, the numbers found afterwards, in queue order.</summary>
    private sealed record Run(string AppendFsync, IReadOnlyList<TimeSpan> Acknowledged, IReadOnlyList<int> Survived, TimeSpan KilledAt)
    {
        /// <summary>0, 1, ..., k - 1 in order: nothing missing in the middle, nothing reordered.</summary>
        public bool SurvivorsAreAPrefix => Survived.Select((n, i) => n == i).All(ok => ok);

        /// <summary>Acknowledged events not found afterwards (those after the surviving prefix).</summary>
        public int Lost => Math.Max(0, Acknowledged.Count - Survived.Count);

        /// <summary>How long before the kill the oldest lost acknowledged event was acknowledged (zero: none lost).</summary>
        public TimeSpan LostAge => Lost == 0 ? TimeSpan.Zero : KilledAt - Acknowledged[Acknowledged.Count - Lost];

        /// <summary>The time the lost acknowledged events were acknowledged over (first to last).</summary>
        public TimeSpan LostSpan => Lost == 0 ? TimeSpan.Zero : Acknowledged[^1] - Acknowledged[Acknowledged.Count - Lost];

        public override string ToString() => string.Create(CultureInfo.InvariantCulture,
            $"appendfsync {AppendFsync}, kill -9 after {KilledAt.TotalSeconds:F1} s: {Acknowledged.Count} acknowledged " +
            $"({Acknowledged.Count / Math.Max(KilledAt.TotalSeconds, 0.001):F0}/s), {Survived.Count} found after the restart " +
            $"({Math.Max(0, Survived.Count - Acknowledged.Count)} of them not acknowledged: in flight at the kill); " +
            $"lost {Lost} acknowledged, acknowledged over {LostSpan.TotalMilliseconds:F0} ms, the oldest {LostAge.TotalMilliseconds:F0} ms before the kill; " +
            $"survivors {(SurvivorsAreAPrefix ? "are a prefix" : "are NOT a prefix: " + string.Join(",", Survived.Take(20)))}");
    }
}
