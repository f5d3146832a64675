using System.Diagnostics;
using CrnpCloud.Redis;
using CrnpCloud.Testing;
using static CrnpCloud.Delivery.Tests.Scenario;

namespace CrnpCloud.Delivery.Tests;

/// <summary>Delivery workers as separate processes on a real redis-server: scale-out, kill -9, takeover.</summary>
public sealed class WorkerProcessTests(RedisServerFixture redis) : IClassFixture<RedisServerFixture>
{
    private ServiceProcess StartWorker(string prefix, string ttl = "00:00:02", string rescan = "00:00:01", params (string Key, string Value)[] extra)
    {
        var environment = new Dictionary<string, string>
        {
            ["Crnp__Store__Redis"] = redis.Server.ConnectionString,
            ["Crnp__Store__KeyPrefix"] = prefix,
            ["Crnp__Delivery__LeaseTtl"] = ttl,
            ["Crnp__Delivery__RescanInterval"] = rescan,
            ["Crnp__Delivery__RetryInterval"] = "00:00:00.200",
            ["Crnp__Delivery__ClientTimeout"] = "00:00:02",
        };
        foreach (var (key, value) in extra)
        {
            environment["Crnp__Delivery__" + key] = value;
        }
        return ServiceProcess.Start("CrnpCloud.Delivery", environment);
    }

    /// <summary>The owner of one partition's lease, or null when nobody holds it.</summary>
    private async Task<string?> OwnerOf(string prefix, int partition)
    {
        var lease = await redis.Connection.GetDatabase().HashGetAsync($"{prefix}{{default}}:leases", partition);
        return lease.IsNull ? null : ((string)lease!).Split(' ')[0];
    }

    /// <summary>The owner of every partition lease (one per partition held), read from the leases hash.</summary>
    private async Task<string[]> LeaseOwners(string prefix)
    {
        var leases = await redis.Connection.GetDatabase().HashGetAllAsync($"{prefix}{{default}}:leases");
        return [.. leases.Select(l => ((string)l.Value!).Split(' ')[0])];
    }

    private async Task<(RedisStore Store, string Prefix, List<CrnpTestListener> Listeners)> SetUpAsync(int clients)
    {
        var prefix = RedisStores.UniquePrefix();
        var store = RedisStores.Create(redis.Connection, prefix);
        var listeners = Enumerable.Range(0, clients).Select(_ => CrnpTestListener.Start()).ToList();
        foreach (var listener in listeners)
        {
            await RegisterAsync(store, listener.Address);
        }
        return (store, prefix, listeners);
    }

    [Fact]
    public async Task TwoWorkers_HundredClients_ThousandEvents_EveryoneGetsEverything_InOrder()
    {
        // The default 10 s TTL: with 2 s, a renewal delayed on a saturated 2-core machine lets a lease
        // lapse mid-delivery, and the next owner repeats that entry (allowed after a fault, but this
        // test is about scale-out, so it expects each event exactly once).
        var (store, prefix, listeners) = await SetUpAsync(100);
        await using var a = StartWorker(prefix, ttl: "00:00:10");
        await using var b = StartWorker(prefix, ttl: "00:00:10");

        for (var i = 0; i < 1000; i++)
        {
            await store.PublishAsync(Numbered(i));
        }

        foreach (var listener in listeners)
        {
            await listener.WaitForAsync(1000, TimeSpan.FromMinutes(3));
        }
        foreach (var listener in listeners)
        {
            AssertExactlyInOrder(listener, 1000);
            await listener.DisposeAsync();
        }
        Assert.Equal(2, (await LeaseOwners(prefix)).Distinct().Count());
    }

    [Fact]
    public async Task TwoWorkersStartingTogether_AreWokenForEveryPartition_WithoutWaitingForARescan()
    {
        // Regression: the Pub/Sub subscription of a newly taken partition was sent fire-and-forget and
        // was sometimes lost while two workers settled their shares; those partitions' clients then
        // waited for the rescan (30 s by default). With the rescan at 10 minutes, every client must
        // still get its events at once.
        var (store, prefix, listeners) = await SetUpAsync(64);
        await using var a = StartWorker(prefix, ttl: "00:00:03", rescan: "00:10:00");
        await using var b = StartWorker(prefix, ttl: "00:00:03", rescan: "00:10:00");
        await Eventually.TrueAsync(async () =>
        {
            var owners = await LeaseOwners(prefix);
            return owners.Length == 64 && owners.GroupBy(o => o).Count() == 2 && owners.GroupBy(o => o).All(g => g.Count() == 32);
        }, "the two workers hold 32 partitions each", TimeSpan.FromSeconds(30));

        for (var i = 0; i < 5; i++)
        {
            await store.PublishAsync(Numbered(i));
        }
        foreach (var listener in listeners)
        {
            await listener.WaitForAsync(5, TimeSpan.FromSeconds(20));
            AssertExactlyInOrder(listener, 5);
            await listener.DisposeAsync();
        }
    }

    [Fact]
    public async Task KillNine_UnderLoad_LosesNothing_KeepsOrder_AndTheOtherTakesOverWithinTheTtl()
    {
        var (store, prefix, listeners) = await SetUpAsync(40);
        var a = StartWorker(prefix);
        await using var b = StartWorker(prefix);
        const int events = 400;
        var publishing = Task.Run(async () =>
        {
            for (var i = 0; i < events; i++)
            {
                await store.PublishAsync(Numbered(i));
            }
        });

        await Eventually.TrueAsync(() => Task.FromResult(listeners.Sum(l => l.Received.Count) > events * listeners.Count / 4), "a quarter is delivered");
        a.Kill();
        var killedAt = Stopwatch.GetTimestamp();
        await a.DisposeAsync();
        await publishing;

        foreach (var listener in listeners)
        {
            await listener.WaitForAsync(events, TimeSpan.FromMinutes(2));
        }

        var duplicates = 0;
        var longestStall = TimeSpan.Zero;
        foreach (var listener in listeners)
        {
            var received = listener.Received.ToArray();
            var numbers = received.Select(r => NumberOf(r.Event)).ToArray();

            // At least once, in order: never backwards; a repeat only of the entry in flight at the kill.
            for (var i = 1; i < numbers.Length; i++)
            {
                Assert.True(numbers[i] >= numbers[i - 1], $"{listener.Address}: {numbers[i]} after {numbers[i - 1]}");
            }
            Assert.Equal(Enumerable.Range(0, events), numbers.Distinct());
            duplicates += numbers.Length - events;

            var after = received.Where(r => r.At > killedAt).Select(r => r.At).Prepend(killedAt).ToArray();
            for (var i = 1; i < after.Length; i++)
            {
                var gap = Stopwatch.GetElapsedTime(after[i - 1], after[i]);
                longestStall = gap > longestStall ? gap : longestStall;
            }
            await listener.DisposeAsync();
        }

        Assert.True(duplicates <= listeners.Count, $"{duplicates} duplicates: more than one in-flight entry per client");
        Assert.True(longestStall < TimeSpan.FromSeconds(2 + 1 + 2), $"a client waited {longestStall} after the kill; lease TTL is 2 s");
    }

    [Fact]
    public async Task GracefulStop_ReleasesLeases_SoTheOtherWorkerTakesOverAtOnce()
    {
        var (store, prefix, listeners) = await SetUpAsync(10);
        var a = StartWorker(prefix, ttl: "00:00:10", extra: ("WorkerId", "graceful-a"));
        await using var b = StartWorker(prefix, ttl: "00:00:10");
        async Task<int> HeldBy(string worker) => (await LeaseOwners(prefix)).Count(o => o == worker);
        async Task<string[]> Owners() => [.. (await LeaseOwners(prefix)).Distinct()];
        await Eventually.TrueAsync(async () => (await Owners()).Length == 2, "both workers hold partitions");
        Assert.True(await HeldBy("graceful-a") > 0);

        await a.DisposeAsync();
        var stopped = Stopwatch.StartNew();

        // SIGTERM, and the process has exited: it gave back every lease and left the live set (read
        // from the store, before anyone could have taken them over by expiry).
        Assert.Equal(0, await HeldBy("graceful-a"));
        Assert.Null(await redis.Connection.GetDatabase().SortedSetScoreAsync($"{prefix}{{default}}:workers", "graceful-a"));
        for (var i = 0; i < 20; i++)
        {
            await store.PublishAsync(Numbered(i));
        }

        // With a 10 s TTL, only released leases can be taken over this soon.
        foreach (var listener in listeners)
        {
            await listener.WaitForAsync(20, TimeSpan.FromSeconds(8) - stopped.Elapsed);
            AssertExactlyInOrder(listener, 20);
            await listener.DisposeAsync();
        }
        var owners = await Owners();
        Assert.Single(owners);
        Assert.Equal(64, await HeldBy(owners[0]));
    }

    [Fact]
    public async Task AJoiningWorkerProcess_GetsItsShare_WithoutWaitingForARenewal()
    {
        // Renewal every 20 s (TTL 60 s): a joiner that waited for renewals would get nothing for 20 s
        // or more (its own second round); announced, the owner sheds and the joiner claims at once.
        var (_, prefix, listeners) = await SetUpAsync(0);
        await using var a = StartWorker(prefix, ttl: "00:01:00", extra: ("WorkerId", "owner-a"));
        await Eventually.TrueAsync(async () => (await LeaseOwners(prefix)).Count(o => o == "owner-a") == 64, "a holds every partition");

        var joined = Stopwatch.StartNew();
        await using var b = StartWorker(prefix, ttl: "00:01:00", extra: ("WorkerId", "joiner-b"));
        await Eventually.TrueAsync(async () => (await LeaseOwners(prefix)).Count(o => o == "joiner-b") == 32, "b holds its 32", TimeSpan.FromSeconds(40));

        // Process start included (a few seconds on a loaded machine); a renewal-paced hand-over is >= 20 s.
        Assert.True(joined.Elapsed < TimeSpan.FromSeconds(15), $"b got its share {joined.Elapsed.TotalSeconds:F1} s after it started");
        Assert.Empty(listeners);
    }

    [Fact]
    public async Task PausedPastItsLease_AWorkerWritesNothingStale_WhenItResumes()
    {
        // Worker a starts delivering event 0 to a client that does not answer yet (SYNs dropped), and is
        // stopped (SIGSTOP) for longer than its lease. b takes the partition over; the client answers; b
        // delivers 0 and later events. a's connect completes in the kernel while a is stopped (a SYN
        // retransmission). Then a resumes: before the fix it wrote event 0 on that connection, after the
        // newer ones. The client reads connections concurrently, so a stale write would show as out of order.
        var prefix = RedisStores.UniquePrefix();
        var store = RedisStores.Create(redis.Connection, prefix);
        await using var client = CrnpTestListener.Silent();
        Assert.True(await CrnpTestListener.ConnectTimesOutAsync(client.Address, TimeSpan.FromSeconds(1)), "the client is not silent");
        await RegisterAsync(store, client.Address);
        var partition = Core.Partitioning.Of(client.Address, 64);
        (string, string)[] settings = [("ClientTimeout", "00:01:00"), ("RetryCount", "1000")];
        await using var a = StartWorker(prefix, extra: [.. settings, ("WorkerId", "paused-a")]);
        await Eventually.TrueAsync(async () => await OwnerOf(prefix, partition) == "paused-a", "a holds the client's partition");

        await store.PublishAsync(Numbered(0));
        await Eventually.TrueAsync(() => Task.FromResult(SynSent(client.Address.Port) > 0), "a is connecting to the client");
        await a.SignalAsync("STOP");
        try
        {
            await using var b = StartWorker(prefix, extra: [.. settings, ("WorkerId", "paused-b")]);
            await Eventually.TrueAsync(async () => await OwnerOf(prefix, partition) == "paused-b", "b took the partition over", TimeSpan.FromSeconds(30));
            client.Answer();
            await client.WaitForAsync(1, TimeSpan.FromSeconds(30));
            for (var i = 1; i < 4; i++)
            {
                await store.PublishAsync(Numbered(i));
            }
            await client.WaitForAsync(4, TimeSpan.FromSeconds(30));

            // a's connection: established by the kernel on a retransmitted SYN (1, 3, 7, 15 s after its
            // first), accepted by the client, nothing written yet.
            await Eventually.TrueAsync(() => Task.FromResult(client.Open > 0), "a's connect completed while it was stopped", TimeSpan.FromSeconds(40));
            await a.SignalAsync("CONT");
            await Eventually.TrueAsync(() => Task.FromResult(client.Open == 0), "a's connection is over", TimeSpan.FromSeconds(40));
            await store.PublishAsync(Numbered(4));
            await client.WaitForAsync(5, TimeSpan.FromSeconds(30));

            var numbers = client.Events.Select(NumberOf).ToArray();
            for (var i = 1; i < numbers.Length; i++)
            {
                Assert.True(numbers[i] >= numbers.Take(i).Max(), $"{numbers[i]} after {numbers.Take(i).Max()}: {string.Join(", ", numbers)}");
            }
            Assert.Equal(Enumerable.Range(0, 5), numbers.Distinct());
        }
        finally
        {
            await a.SignalAsync("CONT");
        }
    }

    /// <summary>Sockets of this machine in SYN_SENT towards a loopback port (from /proc/net/tcp).</summary>
    private static int SynSent(int port) =>
        File.ReadLines("/proc/net/tcp").Skip(1).Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .Count(f => f[3] == "02" && f[2].EndsWith(":" + port.ToString("X4", System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal));
}
