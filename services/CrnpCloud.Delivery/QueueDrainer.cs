using CrnpCloud.Core;
using CrnpCloud.Protocol;
using CrnpCloud.ServiceDefaults;
using Microsoft.Extensions.Options;

namespace CrnpCloud.Delivery;

/// <summary>
/// Drains a client's queue head first: send, and only then ack. A failed send is retried
/// RetryCount times, RetryInterval apart, before the client is removed; later entries wait behind
/// it. Connections in flight are bounded by two budgets (<see cref="ConnectionPools"/>): clients in
/// good standing (<see cref="ClientStanding"/>: last attempt got through) take the main one, the others
/// (new to this worker, last attempt failed or put off) the suspect one, and an attempt from the main
/// budget still unfinished after SuspectAfter moves over (a new client takes the main budget only when
/// the suspect one is full), so a client that cannot be reached holds what healthy clients need for at
/// most SuspectAfter when met for the first time, and one ConnectTimeout when it was in good standing.
/// </summary>
internal sealed class QueueDrainer(
    IDeliveryStore store,
    AckCommitter acks,
    EventSender sender,
    ConnectionPools pools,
    IOptionsMonitor<DeliveryOptions> options,
    DeliveryTelemetry telemetry,
    TimeProvider time,
    ILoggerFactory loggers)
{
    /// <summary>
    /// The log category, kept from this class's earlier name (Deliverer): the AllInOne host's
    /// appsettings.json, and any deployment's Logging__LogLevel__ override, name it.
    /// </summary>
    internal const string LogCategory = "CrnpCloud.Delivery.Deliverer";

    // Many clients failing together (one failed switch) must not cost a log line each: a few per
    // interval, then a count of the rest (DeliveryTelemetry counts every attempt and removal).
    private const int LogBurst = 20;
    private static readonly TimeSpan LogInterval = TimeSpan.FromSeconds(10);
    private readonly LogThrottle _failureLog = new(time, LogInterval, LogBurst);
    private readonly LogThrottle _removalLog = new(time, LogInterval, LogBurst);
    private readonly DocumentCache _documents = new();
    private readonly ILogger _logger = loggers.CreateLogger(LogCategory);

    public DeliveryTelemetry Telemetry => telemetry;

    private enum Outcome
    {
        Delivered,
        Removed,
        Stopped,
    }

    /// <summary>Delivers until the queue is empty (true) or it must stop; false when it should try again later.</summary>
    public async Task<bool> DrainAsync(CallbackAddress client, IHeldPartition partition, ClientStanding standing)
    {
        var settings = options.CurrentValue;
        try
        {
            while (partition.IsValid)
            {
                var entries = await store.PeekQueueAsync(client, settings.BatchSize, partition.Stopping);
                if (entries.Count == 0)
                {
                    return true;
                }

                foreach (var entry in entries)
                {
                    var outcome = await DeliverAsync(client, entry, partition, standing, settings);
                    if (outcome != Outcome.Delivered)
                    {
                        return true;
                    }

                    // The ack is not cancelled by a stop: the event went out, record that it did. It is
                    // awaited before the next delivery to this client: an ack trailing the next event
                    // would, after a crash, let the next owner send this one again after the newer one.
                    // Other clients' acks go to the store with it (AckCommitter).
                    var ack = await acks.AckAsync(client, entry.EntryId, partition.Lease);
                    if (ack.Result == AckResult.LeaseLost)
                    {
                        partition.MarkLost();
                        DeliveryLog.LeaseLost(_logger, partition.Lease.Partition);
                        return true;
                    }
                    if (ack.QueueEmpty)
                    {
                        // Nothing left: no second read (a later entry wakes the client again).
                        return true;
                    }
                }
            }
            return true;
        }
        catch (OperationCanceledException) when (partition.Stopping.IsCancellationRequested)
        {
            return true;
        }
        catch (StoreUnavailableException)
        {
            DeliveryLog.StoreUnavailable(_logger, client.ToString());
            return false;
        }
        catch (Exception ex)
        {
            DeliveryLog.Fault(_logger, ex, client.ToString());
            return false;
        }
    }

    public async Task PauseAsync(CancellationToken cancellationToken)
    {
        try
        {
            await Task.Delay(TimeSpan.FromSeconds(1), time, cancellationToken);
        }
        catch (OperationCanceledException)
        {
            // Stopping: the loop exits on its next check.
        }
    }

    private async Task<Outcome> DeliverAsync(CallbackAddress client, QueueEntry entry, IHeldPartition partition, ClientStanding standing, DeliveryOptions settings)
    {
        var document = _documents.For(entry.Event);
        var (retries, retryInterval) = settings.RetryFor(client);
        var attempts = retries + 1;
        var reason = "";
        for (var attempt = 1; attempt <= attempts; attempt++)
        {
            if (!partition.IsValid)
            {
                return Outcome.Stopped;
            }

            var started = time.GetTimestamp();
            using var activity = DeliveryTelemetry.StartDelivery(entry, client, attempt);
            try
            {
                if (!await AttemptAsync(client, document, partition, standing, options.CurrentValue))
                {
                    return Outcome.Stopped;
                }
                telemetry.Attempted(true, attempt, time.GetElapsedTime(started), time.GetUtcNow() - entry.Event.PublishedAt);
                DeliveryLog.Delivered(_logger, entry.Event.Sequence, client);
                return Outcome.Delivered;
            }
            catch (DeliveryFailedException ex)
            {
                reason = ex.Message;
                activity?.SetStatus(System.Diagnostics.ActivityStatusCode.Error, reason);

                // The store counts the client's consecutive failures, so attempts made before a pause
                // (a lease deadline that lapsed under load, a hand-over to another worker) count toward
                // removal too: the count never starts over for the same undelivered entry.
                attempt = Math.Max(attempt, await RecordFailureAsync(client, reason));
                telemetry.Attempted(false, attempt, time.GetElapsedTime(started), null);
                if (_failureLog.TryEnter(out var suppressed))
                {
                    LogSuppressed(suppressed, "failed delivery attempts");
                    DeliveryLog.AttemptFailed(_logger, entry.Event.Sequence, client.ToString(), attempt, Math.Max(attempt, attempts), reason);
                }
            }

            // A retry policy changed meanwhile (CrnpServer, or the client's own) applies to the rest.
            (retries, retryInterval) = options.CurrentValue.RetryFor(client);
            attempts = Math.Max(attempt, retries + 1);
            if (attempt < attempts)
            {
                await Task.Delay(options.CurrentValue.Jittered(retryInterval), time, partition.Stopping);
            }
        }

        var why = $"{attempts} delivery attempt(s) failed; last: {reason}";
        var removal = await store.RemoveFailedClientAsync(client, why, partition.Lease, CancellationToken.None);
        if (removal == AckResult.LeaseLost)
        {
            partition.MarkLost();
            DeliveryLog.LeaseLost(_logger, partition.Lease.Partition);
            return Outcome.Stopped;
        }
        if (removal == AckResult.Done)
        {
            telemetry.Removed();
            if (_removalLog.TryEnter(out var suppressed))
            {
                LogSuppressed(suppressed, "client removals");
                DeliveryLog.ClientRemoved(_logger, client.ToString(), attempts, reason);
            }
        }
        return Outcome.Removed;
    }

    /// <summary>
    /// One attempt, from the budget the client's standing calls for: true when the document went out,
    /// false when the lease lapsed or the partition stopped (nothing to count against the client).
    /// Throws <see cref="DeliveryFailedException"/> when the client failed it.
    /// </summary>
    private async Task<bool> AttemptAsync(CallbackAddress client, byte[] document, IHeldPartition partition, ClientStanding standing, DeliveryOptions settings)
    {
        while (true)
        {
            var wasGood = standing.Value == Standing.Good;
            SemaphoreSlim held;
            if (standing.Value == Standing.Suspect)
            {
                await pools.Suspect.WaitAsync(partition.Stopping);
                held = pools.Suspect;
            }
            else if (standing.Value == Standing.New && pools.Suspect.Wait(0))
            {
                held = pools.Suspect;
            }
            else
            {
                await pools.Main.WaitAsync(partition.Stopping);
                held = pools.Main;
            }
            using var putOff = CancellationTokenSource.CreateLinkedTokenSource(partition.Stopping);
            try
            {
                if (!partition.IsValid)
                {
                    return false;
                }
                var send = sender.SendAsync(client, document, settings.Jittered(settings.ConnectTimeout), settings.ClientTimeout, partition, putOff.Token);
                if (held == pools.Main && !send.IsCompleted)
                {
                    try
                    {
                        await send.WaitAsync(settings.SuspectAfter, time);
                    }
                    catch (TimeoutException)
                    {
                        // Not done in SuspectAfter: the attempt leaves the main budget. Where the suspect
                        // budget has no room, a client new to this worker that has not even connected is put
                        // off (cancelling a connect reaches nothing on the client) and made again from there.
                        // A client in good standing finishes where it is: one slow attempt (a loaded
                        // machine, a slow reader) is no evidence that it cannot be reached, and sending it
                        // to wait behind hundreds of unreachable ones would stall it for their connect
                        // timeouts. If it really cannot be reached, its failure takes its standing, so it
                        // holds a main place for at most one ConnectTimeout.
                        if (pools.Suspect.Wait(0))
                        {
                            held.Release();
                            held = pools.Suspect;
                            telemetry.Demoted(putOff: false);
                        }
                        else if (!wasGood)
                        {
                            standing.Value = Standing.Suspect;
                            await putOff.CancelAsync();
                        }
                    }
                }
                await send;
                standing.Value = Standing.Good;
                return true;
            }
            catch (OperationCanceledException) when (putOff.IsCancellationRequested && !partition.Stopping.IsCancellationRequested)
            {
                telemetry.Demoted(putOff: true);
                DeliveryLog.PutOff(_logger, client.ToString(), settings.SuspectAfter.TotalMilliseconds);
            }
            catch (LeaseLapsedException)
            {
                DeliveryLog.AttemptLapsed(_logger, client.ToString(), partition.Lease.Partition);
                return false;
            }
            catch (DeliveryFailedException)
            {
                standing.Value = Standing.Suspect;
                throw;
            }
            finally
            {
                held.Release();
            }
        }
    }

    private void LogSuppressed(long count, string what)
    {
        if (count > 0)
        {
            DeliveryLog.Suppressed(_logger, count, what, LogBurst, LogInterval.TotalSeconds);
        }
    }

    // The client's consecutive failures, or 0 when the store cannot say: a store hiccup must not turn
    // into a lost retry, so this attempt then counts on its own.
    private async Task<int> RecordFailureAsync(CallbackAddress client, string reason)
    {
        try
        {
            return await store.RecordFailureAsync(client, reason, CancellationToken.None);
        }
        catch (StoreUnavailableException)
        {
            DeliveryLog.StoreUnavailable(_logger, client.ToString());
            return 0;
        }
    }
}
