using CrnpCloud.Core;
using CrnpCloud.Testing;
using Microsoft.Extensions.Time.Testing;
using static CrnpCloud.Delivery.Tests.Scenario;

namespace CrnpCloud.Delivery.Tests;

/// <summary>Retry count and interval on a fake clock: exact (or stretched by at most the jitter), and not a second early.</summary>
public sealed class RetryTimingTests
{
    [Fact]
    public async Task RefusingClient_IsRetriedRetryCountTimes_IntervalApart_ThenRemoved()
    {
        var waits = await RetryWaitsAsync("0");

        Assert.All(waits, wait => Assert.Equal(TimeSpan.FromSeconds(30), wait));
    }

    [Fact]
    public async Task RetryInterval_IsStretchedByAtMostTheJitter_NeverShortened()
    {
        // Jitter 0.5: each retry comes after 30 to 45 s, stepped a second at a time here.
        var waits = await RetryWaitsAsync("0.5");

        Assert.All(waits, wait => Assert.InRange(wait, TimeSpan.FromSeconds(30), TimeSpan.FromSeconds(46)));
    }

    // Publishes to a refusing client and steps the fake clock a second at a time: how long after each
    // failed attempt the next one came; checks that the client is removed after the last.
    private static async Task<List<TimeSpan>> RetryWaitsAsync(string jitter)
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var store = new InMemoryStore(clock);
        var refusing = CrnpTestListener.Refusing();
        await RegisterAsync(store, refusing);
        await using var worker = await StartWorkerAsync(store, Settings(
            ("RetryCount", "3"), ("RetryInterval", "00:00:30"), ("LeaseTtl", "00:10:00"), ("RescanInterval", "01:00:00"), ("Jitter", jitter)), clock);
        int Attempts() => worker.Logs.Entries.Count(e => e.Message.Contains($"to {refusing} failed", StringComparison.Ordinal));

        var waits = new List<TimeSpan>();
        await store.PublishAsync(Numbered(0));
        await Eventually.TrueAsync(() => Task.FromResult(Attempts() == 1), "the first attempt fails");

        for (var retry = 1; retry <= 3; retry++)
        {
            // The worker logs the failure just before it starts waiting on the fake clock; give it a
            // moment to do so (no public hook says a fake timer was created). Then step the clock a
            // second at a time, pausing briefly so an early retry would show: the next attempt must
            // come exactly at the interval.
            await Task.Delay(50);
            var advanced = TimeSpan.Zero;
            while (Attempts() == retry)
            {
                Assert.NotNull(await store.GetClientAsync(refusing));
                await Task.Yield();
                if (advanced < TimeSpan.FromSeconds(29))
                {
                    clock.Advance(TimeSpan.FromSeconds(1));
                    advanced += TimeSpan.FromSeconds(1);
                    await Task.Delay(5);
                    Assert.Equal(retry, Attempts());
                    continue;
                }
                clock.Advance(TimeSpan.FromSeconds(1));
                advanced += TimeSpan.FromSeconds(1);
                if (jitter == "0")
                {
                    await Eventually.TrueAsync(() => Task.FromResult(Attempts() == retry + 1), $"retry {retry} happens at 30 s", TimeSpan.FromSeconds(5));
                }
                else
                {
                    // Stretched by a random amount: give a retry now due a moment to show, then step on.
                    Assert.True(advanced < TimeSpan.FromMinutes(2), $"retry {retry} has not come after {advanced}");
                    await Task.Delay(20);
                }
            }
            waits.Add(advanced);
        }

        await Eventually.TrueAsync(async () => await store.GetClientAsync(refusing) is null, "the client is removed after the last retry");
        Assert.Equal(4, Attempts());
        Assert.Single(await store.ListRemovalsAsync(10));
        return waits;
    }
}
