using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using CrnpCloud.Core;
using CrnpCloud.Testing;
using static CrnpCloud.Delivery.Tests.Scenario;

namespace CrnpCloud.Delivery.Tests;

public sealed class DeliveryMetricsTests
{
    [Fact]
    public async Task Backlog_IsReportedPerOwnedPartition()
    {
        var store = new InMemoryStore();
        var refusing = CrnpTestListener.Refusing();
        await RegisterAsync(store, refusing);
        await using var worker = await StartWorkerAsync(store, Settings(("RetryInterval", "00:10:00"), ("RescanInterval", "00:00:00.200")));
        for (var i = 0; i < 5; i++)
        {
            await store.PublishAsync(Numbered(i));
        }
        var seen = new ConcurrentDictionary<int, long>();
        using var listener = new MeterListener
        {
            InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Meter.Name == DeliveryTelemetry.Name && instrument.Name == "crnp.delivery.backlog")
                {
                    l.EnableMeasurementEvents(instrument);
                }
            },
        };
        listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
        {
            foreach (var tag in tags)
            {
                if (tag.Key == "partition")
                {
                    seen[(int)tag.Value!] = value;
                }
            }
        });
        listener.Start();

        var partition = Partitioning.Of(refusing, store.Partitions);
        await Eventually.TrueAsync(() =>
        {
            listener.RecordObservableInstruments();
            return Task.FromResult(seen.TryGetValue(partition, out var backlog) && backlog == 5);
        }, "the backlog of the stuck client's partition is reported");
        Assert.All(seen.Where(p => p.Key != partition), p => Assert.Equal(0, p.Value));
    }
}
