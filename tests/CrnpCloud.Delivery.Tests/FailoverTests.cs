using CrnpCloud.Core;
using CrnpCloud.Testing;
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
            throw new TimeoutException(ex.Message + "\nworker log:\n" + string.Join("\n", worker.Logs.Entries.TakeLast(60).Select(e => $"{e.Level} {e.Category} {e.Message[..Math.Min(160, e.Message.Length)]} {e.Exception?.GetType().Name}")), ex);
        }
        try
        {
            await listener.WaitForAsync(3, TimeSpan.FromSeconds(20));
        }
        catch (TimeoutException ex)
        {
            throw new TimeoutException(ex.Message + "\nworker log:\n" + string.Join("\n", worker.Logs.Entries.TakeLast(60).Select(e => $"{e.Level} {e.Category} {e.Message[..Math.Min(160, e.Message.Length)]} {e.Exception?.GetType().Name}")), ex);
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
}
