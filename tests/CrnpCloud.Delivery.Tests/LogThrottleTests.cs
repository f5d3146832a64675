using CrnpCloud.Core;
using CrnpCloud.ServiceDefaults;
using CrnpCloud.Testing;
using Microsoft.Extensions.Time.Testing;
using static CrnpCloud.Delivery.Tests.Scenario;

namespace CrnpCloud.Delivery.Tests;

/// <summary>Many clients failing together cost a few log lines, not one each; the store still records every removal.</summary>
public sealed class LogThrottleTests
{
    [Fact]
    public void Throttle_LetsABurstThroughPerInterval_ThenReportsWhatItHeldBack()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var throttle = new LogThrottle(clock, TimeSpan.FromSeconds(10), burst: 3);

        var first = Enumerable.Range(0, 5).Select(_ => throttle.TryEnter(out var held) ? held : -1).ToArray();
        clock.Advance(TimeSpan.FromSeconds(9));
        var stillHeld = throttle.TryEnter(out _);
        clock.Advance(TimeSpan.FromSeconds(1));
        var next = throttle.TryEnter(out var reported);

        Assert.Equal([0, 0, 0, -1, -1], first);
        Assert.False(stillHeld);
        Assert.True(next);
        Assert.Equal(3, reported);
    }

    [Fact]
    public async Task ManyClientsFailingTogether_AreLoggedAFewAtATime_AndEveryOneIsStillRemoved()
    {
        const int Clients = 60;
        var store = new InMemoryStore();
        var refusing = Enumerable.Range(0, Clients).Select(_ => CrnpTestListener.Refusing()).ToList();
        foreach (var client in refusing)
        {
            await RegisterAsync(store, client);
        }
        await using var worker = await StartWorkerAsync(store, Settings(("RetryCount", "0")));

        await store.PublishAsync(Numbered(0));

        foreach (var client in refusing)
        {
            await Eventually.TrueAsync(async () => await store.GetClientAsync(client) is null, $"refusing client {client} is removed", TimeSpan.FromSeconds(90));
        }
        Assert.Equal(Clients, (await store.ListRemovalsAsync(Clients + 1)).Count);
        var failed = worker.Logs.Entries.Count(e => e.Message.Contains(" failed (attempt ", StringComparison.Ordinal));
        var removed = worker.Logs.Entries.Count(e => e.Message.StartsWith("Removed client ", StringComparison.Ordinal));
        Assert.InRange(failed, 1, 20 * 2); // a burst of 20 per 10 s; at most two windows on a slow machine
        Assert.InRange(removed, 1, 20 * 2);
        Assert.True(failed < Clients && removed < Clients, $"{failed} failure and {removed} removal lines for {Clients} clients");
    }
}
