using System.Diagnostics;
using CrnpCloud.Core;
using CrnpCloud.Testing;
using static CrnpCloud.Delivery.Tests.Scenario;

namespace CrnpCloud.Delivery.Tests;

/// <summary>Delivery behaviour over real TCP, for each store.</summary>
public abstract class DeliveryTests
{
    protected abstract Task<ICrnpStore> CreateStoreAsync();

    [Fact]
    public async Task EveryClient_GetsEveryEvent_InOrder_OnceEach()
    {
        var store = await CreateStoreAsync();
        var listeners = Enumerable.Range(0, 20).Select(_ => CrnpTestListener.Start()).ToList();
        foreach (var listener in listeners)
        {
            await RegisterAsync(store, listener.Address);
        }
        await using var worker = await StartWorkerAsync(store);

        for (var i = 0; i < 100; i++)
        {
            await store.PublishAsync(Numbered(i));
        }

        foreach (var listener in listeners)
        {
            await listener.WaitForAsync(100);
        }
        foreach (var listener in listeners)
        {
            AssertExactlyInOrder(listener, 100);
            Assert.Equal(0, listener.Malformed);
            Assert.Empty(await store.PeekQueueAsync(listener.Address, 10));
            await listener.DisposeAsync();
        }
        Assert.Empty(worker.Logs.Errors());
    }

    [Fact]
    public async Task FirstEvent_IsTheCurrentState_AndArrivesBeforeAnythingNewer()
    {
        var store = await CreateStoreAsync();
        await store.PublishAsync(Numbered(0));
        await store.PublishAsync(Numbered(1));
        await using var worker = await StartWorkerAsync(store);
        await using var listener = CrnpTestListener.Start();

        await RegisterAsync(store, listener.Address);
        await store.PublishAsync(Numbered(2));
        await store.PublishAsync(Numbered(3));

        await listener.WaitForAsync(3);
        Assert.Equal([1, 2, 3], listener.Events.Select(NumberOf));
    }

    [Fact]
    public async Task AttemptsMadeBeforeAHandOver_CountTowardRemoval()
    {
        var store = await CreateStoreAsync();
        var refusing = CrnpTestListener.Refusing();
        await RegisterAsync(store, refusing);
        await store.PublishAsync(Numbered(0));

        // A previous owner made two attempts on this entry and then lost the partition (or paused
        // past its lease deadline): the store holds the client's consecutive failures.
        IDeliveryStore delivery = store;
        await delivery.RecordFailureAsync(refusing, "ConnectionRefused");
        await delivery.RecordFailureAsync(refusing, "ConnectionRefused");
        await using var worker = await StartWorkerAsync(store);

        await Eventually.TrueAsync(async () => await store.GetClientAsync(refusing) is null, "the refusing client is removed");
        var removal = Assert.Single(await delivery.ListRemovalsAsync(10));
        Assert.Contains("4 delivery attempt(s) failed", removal.Reason, StringComparison.Ordinal);
        var attempts = worker.Logs.Entries.Where(e => e.Message.Contains($"to {refusing} failed", StringComparison.Ordinal)).Select(e => e.Message).ToList();
        Assert.Equal(2, attempts.Count);
        Assert.Contains("attempt 3 of 4", attempts[0], StringComparison.Ordinal);
        Assert.Contains("attempt 4 of 4", attempts[1], StringComparison.Ordinal);
    }

    [Fact]
    public async Task RefusingClient_IsRemoved_OthersStillServed_AndTheRemovalIsRecorded()
    {
        var store = await CreateStoreAsync();
        var refusing = CrnpTestListener.Refusing();
        await using var healthy = CrnpTestListener.Start();
        await RegisterAsync(store, refusing);
        await RegisterAsync(store, healthy.Address);
        await using var worker = await StartWorkerAsync(store);

        await store.PublishAsync(Numbered(0));
        await store.PublishAsync(Numbered(1));

        await healthy.WaitForAsync(2);
        await Eventually.TrueAsync(async () => await store.GetClientAsync(refusing) is null, "the refusing client is removed");
        var removal = Assert.Single(await store.ListRemovalsAsync(10));
        Assert.Equal(refusing, removal.Client);
        Assert.Contains("4 delivery attempt(s) failed", removal.Reason, StringComparison.Ordinal);
        Assert.Equal(4, worker.Logs.Entries.Count(e => e.Message.Contains($"to {refusing} failed", StringComparison.Ordinal)));
        AssertExactlyInOrder(healthy, 2);
    }

    [Fact]
    public async Task SlowAndDeadClients_DoNotHoldUpTheOthers()
    {
        var store = await CreateStoreAsync();
        var refusing = CrnpTestListener.Refusing();
        await using var blackHole = CrnpTestListener.BlackHole();
        var healthy = Enumerable.Range(0, 10).Select(_ => CrnpTestListener.Start()).ToList();
        await RegisterAsync(store, refusing);
        await RegisterAsync(store, blackHole.Address);
        foreach (var listener in healthy)
        {
            await RegisterAsync(store, listener.Address);
        }

        // Retries every 10 s: a client waiting behind the refusing one would show it at once.
        await using var worker = await StartWorkerAsync(store, Settings(("RetryInterval", "00:00:10")));
        var clock = Stopwatch.StartNew();
        for (var i = 0; i < 50; i++)
        {
            await store.PublishAsync(Numbered(i));
        }
        foreach (var listener in healthy)
        {
            await listener.WaitForAsync(50);
        }

        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(8), $"healthy clients took {clock.Elapsed} with a refusing client retrying every 10 s");
        foreach (var listener in healthy)
        {
            AssertExactlyInOrder(listener, 50);
            await listener.DisposeAsync();
        }
        Assert.NotNull(await store.GetClientAsync(refusing));
    }
}

public sealed class InMemoryDeliveryTests : DeliveryTests
{
    protected override Task<ICrnpStore> CreateStoreAsync() => Task.FromResult<ICrnpStore>(new InMemoryStore());
}

public sealed class RedisDeliveryTests(RedisServerFixture redis) : DeliveryTests, IClassFixture<RedisServerFixture>
{
    protected override Task<ICrnpStore> CreateStoreAsync() => Task.FromResult<ICrnpStore>(RedisStores.Create(redis.Connection));
}
