using System.Diagnostics;
using CrnpCloud.Core;
using CrnpCloud.Testing;
using static CrnpCloud.Delivery.Tests.Scenario;

namespace CrnpCloud.Delivery.Tests;

/// <summary>
/// Partitions change hands when workers come and go without waiting for a lease renewal: here the
/// renewal is every 20 s (LeaseTtl 60 s), so a hand-over that waited for one would take 20 s or more.
/// </summary>
public sealed class HandOverTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(8);

    private static Dictionary<string, string?> SlowRenewal() => Settings(("LeaseTtl", "00:01:00"), ("RescanInterval", "00:01:00"));

    private static int Holding(WorkerHost worker) =>
        worker.Logs.Entries.Select(e => e.Message).Where(m => m.Contains(" now holds ", StringComparison.Ordinal))
            .Select(m => int.Parse(m.Split(" now holds ")[1].Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture)).LastOrDefault(-1);

    [Fact]
    public async Task AJoiningWorker_GetsItsShareAtOnce_AndALeavingOne_HandsEverythingBackAtOnce()
    {
        var store = new InMemoryStore();
        await using var a = await StartWorkerAsync(store, SlowRenewal());
        await Eventually.TrueAsync(() => Task.FromResult(Holding(a) == 64), "the first worker holds every partition");

        var joined = Stopwatch.StartNew();
        var b = await StartWorkerAsync(store, SlowRenewal());
        await Eventually.TrueAsync(() => Task.FromResult(Holding(a) == 32 && Holding(b) == 32), "the two hold 32 each", TimeSpan.FromSeconds(40));
        var joinTook = joined.Elapsed;

        var left = Stopwatch.StartNew();
        await b.DisposeAsync();
        await Eventually.TrueAsync(() => Task.FromResult(Holding(a) == 64), "the one left holds every partition again", TimeSpan.FromSeconds(40));
        var leaveTook = left.Elapsed;

        Assert.True(joinTook < Bound, $"the joining worker got its share after {joinTook.TotalMilliseconds:F0} ms");
        Assert.True(leaveTook < Bound, $"the partitions of the leaving worker were taken after {leaveTook.TotalMilliseconds:F0} ms");
    }

    [Fact]
    public async Task AfterAHandOver_EveryClientStillGetsEveryEvent_InOrder()
    {
        var store = new InMemoryStore();
        var listeners = Enumerable.Range(0, 20).Select(_ => CrnpTestListener.Start()).ToList();
        foreach (var listener in listeners)
        {
            await RegisterAsync(store, listener.Address);
        }
        await using var a = await StartWorkerAsync(store, SlowRenewal());
        await Eventually.TrueAsync(() => Task.FromResult(Holding(a) == 64), "the first worker holds every partition");
        for (var i = 0; i < 50; i++)
        {
            await store.PublishAsync(Numbered(i));
        }

        await using var b = await StartWorkerAsync(store, SlowRenewal());
        for (var i = 50; i < 100; i++)
        {
            await store.PublishAsync(Numbered(i));
        }
        await Eventually.TrueAsync(() => Task.FromResult(Holding(a) == 32 && Holding(b) == 32), "the two hold 32 each", Bound);

        foreach (var listener in listeners)
        {
            await listener.WaitForAsync(100, TimeSpan.FromSeconds(30));
            AssertExactlyInOrder(listener, 100);
            await listener.DisposeAsync();
        }
    }
}
