using System.Reflection;
using CrnpCloud.Core;
using CrnpCloud.Testing;
using Microsoft.Extensions.DependencyInjection;
using static CrnpCloud.Delivery.Tests.Scenario;

namespace CrnpCloud.Delivery.Tests;

public sealed class FailoverTests
{
    [Fact]
    public async Task StoreRestart_ClientsGetTheCurrentStateAgain_ThenLaterEvents()
    {
        await using var redis = await RedisServer.StartAsync();
        using var connection = await RedisStores.ConnectAsync(redis);
        var store = RedisStores.Create(connection);
        await using var listener = CrnpTestListener.Start();
        await RegisterAsync(store, listener.Address);
        await using var worker = await StartWorkerAsync(store, Settings(("LeaseTtl", "00:00:01.500")));
        await store.PublishAsync(Numbered(0));
        await store.PublishAsync(Numbered(1));
        await listener.WaitForAsync(2);

        // A restart is what a failover looks like from here: another run_id, possibly missing recent writes.
        await redis.RestartAsync();
        try
        {
            await Eventually.TrueAsync(
                () => Task.FromResult(worker.Logs.Entries.Any(e => e.Message.Contains("failover or restart", StringComparison.Ordinal))),
                "the worker notices the new store instance");
        }
        catch (TimeoutException ex)
        {
            throw new TimeoutException(ex.Message + "\nworker log:\n" + string.Join("\n", worker.Logs.Entries.TakeLast(400).Select(e => $"{e.Level} {e.Category} {e.Message[..Math.Min(160, e.Message.Length)]} {e.Exception?.GetType().Name}")), ex);
        }
        try
        {
            await listener.WaitForAsync(3, TimeSpan.FromSeconds(20));
        }
        catch (TimeoutException ex)
        {
            throw new TimeoutException(ex.Message + "\nworker log:\n" + string.Join("\n", worker.Logs.Entries.TakeLast(400).Select(e => $"{e.Level} {e.Category} {e.Message[..Math.Min(160, e.Message.Length)]} {e.Exception?.GetType().Name}")), ex);
        }
        await Eventually.TrueAsync(async () =>
        {
            try
            {
                await store.PublishAsync(Numbered(2));
                return true;
            }
            catch (StoreUnavailableException)
            {
                return false;
            }
        }, "publishing works again");
        await listener.WaitForAsync(4);

        Assert.Equal([0, 1, 1, 2], listener.Events.Select(NumberOf));
    }

    [Fact]
    public async Task AStoreThatLostEverySyncMark_IsResyncedLikeAnotherInstance()
    {
        await using var redis = await RedisServer.StartAsync();
        using var connection = await RedisStores.ConnectAsync(redis);
        var prefix = RedisStores.UniquePrefix();
        var store = RedisStores.Create(connection, prefix);
        await using var listener = CrnpTestListener.Start();
        await RegisterAsync(store, listener.Address);
        await using var worker = await StartWorkerAsync(store, Settings(("LeaseTtl", "00:00:01.500")));
        await store.PublishAsync(Numbered(0));
        await listener.WaitForAsync(1);

        // The marks were written before the first delivery; an instance without any lost them, and
        // with them whatever else was written recently: not a new installation.
        Assert.NotEmpty(await store.SyncMarksAsync());
        Assert.True(await connection.GetDatabase().KeyDeleteAsync(prefix + "{default}:synced"));
        await listener.WaitForAsync(2);
        Assert.Equal([0, 0], listener.Events.Select(NumberOf));
        await Eventually.TrueAsync(async () => (await store.SyncMarksAsync()).Count > 0, "the partition is marked in sync again");
    }

    [Fact]
    public async Task WorkersStartingTogether_OnANewInstallation_DoNotResendTheCurrentState()
    {
        var store = new InMemoryStore();
        await using var listener = CrnpTestListener.Start();
        await RegisterAsync(store, listener.Address);
        await store.PublishAsync(Numbered(0));

        // This worker reads "no marks yet" and then loses the race to initialise them to another one.
        var racing = DispatchProxy.Create<IDeliveryStore, LostInitialisationRace>();
        var race = (LostInitialisationRace)racing;
        race.Inner = store;
        await using var worker = await WorkerHost.StartAsync(store, b =>
        {
            b.Services.AddSingleton(racing);
            b.AddCrnpDelivery();
        }, Settings(("LeaseTtl", "00:00:00.600")));

        // Three rounds: the first (the race) is long over, and its deliveries made.
        await Eventually.TrueAsync(() => Task.FromResult(Volatile.Read(ref race.MarkReads) >= 3), "three lease rounds");
        await listener.WaitForAsync(1);
        Assert.True(race.LostTheRace);
        Assert.Equal([0], listener.Events.Select(NumberOf));
        Assert.DoesNotContain(worker.Logs.Entries, e => e.Message.Contains("failover or restart", StringComparison.Ordinal));
    }

    /// <summary>
    /// Forwards to the store, except that its first read of the sync marks finds none, and another
    /// worker's initialisation lands right after that read.
    /// </summary>
    public class LostInitialisationRace : DispatchProxy
    {
        public int MarkReads;

        public IDeliveryStore Inner { get; set; } = null!;

        public bool LostTheRace { get; private set; }

        protected override object? Invoke(MethodInfo? targetMethod, object?[]? args)
        {
            ArgumentNullException.ThrowIfNull(targetMethod);
            if (targetMethod.Name == nameof(IDeliveryStore.SyncMarksAsync) && Interlocked.Increment(ref MarkReads) == 1)
            {
                return FirstReadAsync();
            }
            if (targetMethod.Name == nameof(IDeliveryStore.InitializeSyncMarksAsync))
            {
                LostTheRace = true;
            }
            return targetMethod.Invoke(Inner, args);
        }

        private async Task<IReadOnlyDictionary<int, string>> FirstReadAsync()
        {
            var empty = new Dictionary<int, string>();
            Assert.True(await Inner.InitializeSyncMarksAsync(await Inner.StoreIdentityAsync()));
            return empty;
        }
    }
}
