using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Net;
using CrnpCloud.Core;
using CrnpCloud.Protocol;
using CrnpCloud.Testing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using static CrnpCloud.Delivery.Tests.Scenario;

namespace CrnpCloud.Delivery.Tests;

/// <summary>
/// The warm-up a worker runs before its first claim (issue 17: a joining worker compiled its delivery
/// path while its first clients waited): the whole path, for real, against a sandbox; nothing of it
/// reaches the configured store or the exported metrics.
/// </summary>
public sealed class WarmUpTests
{
    [Fact]
    public async Task TheWarmUp_DeliversAndAcksOneEventThroughTheRealSender_AndLeavesTheStoreAndTheExportedMetricsAlone()
    {
        var store = new InMemoryStore();
        var sender = new Recording(fail: false);
        var logs = new LogSink();
        using var host = Build(store, sender, logs);
        var measured = new ConcurrentQueue<(string Meter, string Instrument)>();
        using var listener = Listen(measured);

        await host.Services.GetRequiredService<DeliveryWarmUp>().RunAsync(CancellationToken.None);

        // Sent once, to a listener on loopback, and the document was an SC_EVENT.
        var (to, document) = Assert.Single(sender.Sent);
        Assert.True(IPAddress.IsLoopback(to.Ip));
        Assert.IsType<CrnpEvent>(CrnpParser.Parse(document).Value);
        // The sandbox's drainer counted the delivery and committed its ack, on the meter nobody exports...
        Assert.Contains((DeliveryWarmUp.MeterName, "crnp.delivery.attempts"), measured);
        Assert.Contains((DeliveryWarmUp.MeterName, "crnp.delivery.ack_batch"), measured);
        // ...and nothing on the worker's own.
        Assert.DoesNotContain(measured, m => m.Meter == DeliveryTelemetry.Name);
        Assert.Empty(await store.ListClientsAsync());
        Assert.Empty(await store.GetLatestAsync());
        Assert.DoesNotContain(logs.Entries, e => e.Message.Contains("warm-up", StringComparison.Ordinal));
    }

    [Fact]
    public async Task AWarmUpThatCannotDeliver_OnlyLogs_AndEndsWithinItsLimit()
    {
        var logs = new LogSink();
        using var host = Build(new InMemoryStore(), new Recording(fail: true), logs);

        await host.Services.GetRequiredService<DeliveryWarmUp>().RunAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Contains(logs.Entries, e => e.Level == LogLevel.Debug && e.Message.Contains("warm-up failed", StringComparison.Ordinal));
    }

    private static IHost Build(InMemoryStore store, EventSender sender, LogSink logs)
    {
        var builder = Host.CreateApplicationBuilder();
        var settings = Settings();
        settings["Logging:LogLevel:Default"] = "Debug"; // over the worker's appsettings.json, copied beside the tests
        builder.Configuration.AddInMemoryCollection(settings);
        builder.Logging.ClearProviders().AddProvider(logs);
        builder.Services.AddSingleton<IDeliveryStore>(store);
        builder.Services.AddSingleton(sender);
        builder.AddCrnpDelivery();
        return builder.Build();
    }

    private static MeterListener Listen(ConcurrentQueue<(string Meter, string Instrument)> measured)
    {
        var listener = new MeterListener
        {
            InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Name.StartsWith("crnp.delivery.", StringComparison.Ordinal))
                {
                    l.EnableMeasurementEvents(instrument);
                }
            },
        };
        listener.SetMeasurementEventCallback<long>((i, _, _, _) => measured.Enqueue((i.Meter.Name, i.Name)));
        listener.SetMeasurementEventCallback<int>((i, _, _, _) => measured.Enqueue((i.Meter.Name, i.Name)));
        listener.SetMeasurementEventCallback<double>((i, _, _, _) => measured.Enqueue((i.Meter.Name, i.Name)));
        listener.Start();
        return listener;
    }

    /// <summary>The real sender, recording what it sent; or one whose every attempt is refused.</summary>
    private sealed class Recording(bool fail) : EventSender(TimeProvider.System)
    {
        public ConcurrentQueue<(CallbackAddress To, byte[] Document)> Sent { get; } = new();

        public override async Task SendAsync(CallbackAddress to, ReadOnlyMemory<byte> document, TimeSpan connectTimeout, TimeSpan timeout,
            ILeaseGuard? lease, CancellationToken cancellationToken)
        {
            if (fail)
            {
                throw new DeliveryFailedException("ConnectionRefused");
            }
            await base.SendAsync(to, document, connectTimeout, timeout, lease, cancellationToken);
            Sent.Enqueue((to, document.ToArray()));
        }
    }
}
