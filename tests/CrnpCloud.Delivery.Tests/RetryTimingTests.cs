using CrnpCloud.Core;
using CrnpCloud.Testing;
using Microsoft.Extensions.Time.Testing;
using static CrnpCloud.Delivery.Tests.Scenario;

namespace CrnpCloud.Delivery.Tests;

/// <summary>Retry count and interval on a fake clock: exact, and not a second early.</summary>
public sealed class RetryTimingTests
{
    [Fact]
    public async Task RefusingClient_IsRetriedRetryCountTimes_IntervalApart_ThenRemoved()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var store = new InMemoryStore(clock);
        var refusing = CrnpTestListener.Refusing();
        await RegisterAsync(store, refusing);
        await using var worker = await StartWorkerAsync(store, Settings(
            ("RetryCount", "3"), ("RetryInterval", "00:00:30"), ("LeaseTtl", "00:10:00"), ("RescanInterval", "01:00:00")), clock);
        int Attempts() => worker.Logs.Entries.Count(e => e.Message.Contains($"to {refusing} failed", StringComparison.Ordinal));

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
                await Eventually.TrueAsync(() => Task.FromResult(Attempts() == retry + 1), $"retry {retry} happens at 30 s", TimeSpan.FromSeconds(5));
            }
            Assert.Equal(TimeSpan.FromSeconds(30), advanced);
        }

        await Eventually.TrueAsync(async () => await store.GetClientAsync(refusing) is null, "the client is removed after the last retry");
        Assert.Equal(4, Attempts());
        Assert.Single(await store.ListRemovalsAsync(10));
    }
}
