using System.Diagnostics.Metrics;
using System.Net;
using System.Net.Sockets;
using CrnpCloud.Core;
using CrnpCloud.Protocol;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace CrnpCloud.Delivery;

/// <summary>
/// Runs the delivery path once before the worker takes any partition, so that a worker joining under
/// load does not compile it while its first clients wait. A new process compiles each method on first
/// use: in the rebalance benchmark a joining worker spent ~100 ms of CPU between taking its share and
/// its first delivery, ~350 methods compiled, and the hand-over's gap was that long.
/// <para>
/// The whole path runs against a sandbox: an in-memory store with one client, registered at a
/// listener of this class's own on loopback, and one event for it; a partition of the sandbox is
/// held, its rescan finds the client, the client's loop delivers the event through the real sender
/// (connect, the SC_EVENT document, close) and acks it. Metrics go to a meter nobody exports; the
/// configured store only answers a read of a queue nobody has. A failure logs at Debug and changes
/// nothing: the first real deliveries then pay for the compiling.
/// </para>
/// </summary>
internal sealed class DeliveryWarmUp(
    IDeliveryStore store,
    EventSender sender,
    IOptionsMonitor<DeliveryOptions> options,
    TimeProvider time,
    ILogger<DeliveryWarmUp> logger)
{
    internal const string MeterName = "WarmUp.Delivery";

    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(5);
    private static readonly EventRegistration Type = new("EC_Cluster", "ESC_cluster_membership");

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        using var bounded = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        bounded.CancelAfter(Limit);
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        var received = Task.CompletedTask;
        try
        {
            listener.Start();
            var client = new CallbackAddress(IPAddress.Loopback, ((IPEndPoint)listener.LocalEndpoint).Port);
            received = ReceiveOneAsync(listener, bounded.Token);
            await DeliverInSandboxAsync(client, received, bounded.Token);
            await store.PeekQueueAsync(client, options.CurrentValue.BatchSize, bounded.Token);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Stopping before the first claim: nothing to warm up for.
        }
        catch (Exception ex)
        {
            DeliveryLog.WarmUpFailed(logger, ex.Message);
        }
        finally
        {
            // A warm-up that failed before the delivery leaves the listener's accept pending: ended
            // here and observed, not left to fault unobserved once the listener is gone.
            await bounded.CancelAsync();
            try
            {
                await received;
            }
            catch (Exception)
            {
                // The listener's own end (cancelled, or the accept aborted): nothing of it may stop the
                // worker, and a failure of the warm-up is already logged above.
            }
        }
    }

    private async Task DeliverInSandboxAsync(CallbackAddress client, Task received, CancellationToken cancellationToken)
    {
        var settings = options.CurrentValue;
        var sandbox = new InMemoryStore(time);
        await sandbox.ApplyAsync(new RegistrationChange(RegistrationType.AddClient, client, EquatableList.Of(Type), RegistrationLimits.Default), cancellationToken);
        await sandbox.PublishAsync(new CrnpEvent(Type.Class, Type.Subclass!, "SUNW", "crnpcloud-warm-up", EquatableList.Of(new NameValue("node", "warm-up"))), null, cancellationToken);

        using var meter = new Meter(MeterName);
        using var pools = new ConnectionPools(options);
        var telemetry = new DeliveryTelemetry(meter, pools);
        var drainer = new QueueDrainer(sandbox, new AckCommitter(sandbox, telemetry), sender, pools, options, telemetry, time, NullLoggerFactory.Instance);
        var claim = await sandbox.ClaimAsync("warm-up", settings.LeaseTtl, cancellationToken);
        var lease = claim.Leases.Single(l => l.Partition == Partitioning.Of(client, sandbox.Partitions));
        var validUntil = time.GetTimestamp() + (long)(settings.LeaseTtl.TotalSeconds * 0.8 * time.TimestampFrequency);
        var partition = new OwnedPartition(lease, validUntil, sandbox, drainer, time, settings.RescanInterval);
        partition.Start();
        try
        {
            await received;
        }
        finally
        {
            await partition.StopAsync();
        }
    }

    private static async Task ReceiveOneAsync(TcpListener listener, CancellationToken cancellationToken)
    {
        using var connection = await listener.AcceptSocketAsync(cancellationToken);
        var buffer = new byte[4096];
        while (await connection.ReceiveAsync(buffer, SocketFlags.None, cancellationToken) > 0)
        {
            // Read to the sender's close.
        }
    }
}
