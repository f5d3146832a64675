using CrnpCloud.Core;
using Microsoft.Extensions.Options;

namespace CrnpCloud.Delivery;

/// <summary>
/// Keeps this worker's fair share of partition leases, renewing every third of the TTL; starts and
/// stops the partitions it gains and loses; sheds extras when more workers join; on shutdown stops
/// taking work, lets in-flight deliveries finish, and releases every lease. Hand-overs do not wait
/// for the next renewal: a worker short of its share announces it, the others run a round at once
/// and shed, and announce what they released, which the short one claims at once (PROTOCOL.md section 9).
/// </summary>
internal sealed class LeaseKeeper(
    IDeliveryStore store,
    QueueDrainer drainer,
    DeliveryWarmUp warmUp,
    IOptionsMonitor<DeliveryOptions> options,
    DeliveryTelemetry telemetry,
    TimeProvider time,
    IHostApplicationLifetime lifetime,
    ILogger<LeaseKeeper> logger) : BackgroundService
{
    private readonly Dictionary<int, OwnedPartition> _owned = [];
    private readonly SemaphoreSlim _nudge = new(0, 1);
    private long _lastClaim;
    private long _lastWant = long.MinValue;
    private long _lastResyncCheck = long.MinValue;
    private bool _marked;

    /// <summary>When the last lease round succeeded (a <see cref="TimeProvider"/> timestamp; 0 before the first).</summary>
    public long LastClaimTimestamp => Interlocked.Read(ref _lastClaim);

    public string WorkerId { get; } = string.IsNullOrWhiteSpace(options.CurrentValue.WorkerId)
        ? $"{Environment.MachineName}-{Environment.ProcessId}-{Guid.NewGuid().ToString("N")[..8]}"
        : options.CurrentValue.WorkerId;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        // The first claim waits for the host to have started (a process that failed to start holds no
        // lease until it expires), then for the warm-up: a worker joining under load starts delivering
        // what it takes at once, not after its own start-up and compiling (DeliveryWarmUp).
        await StartedAsync(stoppingToken);
        await warmUp.RunAsync(stoppingToken);
        using var news = store.OnLeaseNews(Nudge);
        var lastCount = -1;
        while (!stoppingToken.IsCancellationRequested)
        {
            var settings = options.CurrentValue;
            var started = time.GetTimestamp();
            try
            {
                if (!_marked)
                {
                    await EnsureSyncMarksAsync(stoppingToken);
                }
                var claim = await store.ClaimAsync(WorkerId, settings.LeaseTtl, stoppingToken);
                // Trusted for 80% of the TTL from before the claim was sent: we stop before it can expire.
                var validUntil = started + (long)(settings.LeaseTtl.TotalSeconds * 0.8 * time.TimestampFrequency);
                await ReconcileAsync(claim, validUntil, settings);
                Interlocked.Exchange(ref _lastClaim, time.GetTimestamp());
                await AnnounceIfShortAsync(claim, settings, stoppingToken);
                if (_owned.Count != lastCount)
                {
                    lastCount = _owned.Count;
                    DeliveryLog.Holding(logger, WorkerId, _owned.Count, claim.FairShare);
                }
            }
            catch (StoreUnavailableException ex)
            {
                DeliveryLog.ClaimFailed(logger, ex.Message);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }
            catch (Exception ex)
            {
                // Never let one bad round stop the worker: the next round starts from the store's truth.
                DeliveryLog.LoopFault(logger, ex);
            }

            if (await DropInvalidAsync())
            {
                lastCount = _owned.Count; // so getting them back is logged
            }
            // At the renewal pace, not on every round a nudge brings: a worker joining under load was
            // told of released partitions while it ran these two reads, and took its share only after.
            if (_lastResyncCheck == long.MinValue || time.GetElapsedTime(_lastResyncCheck) >= settings.LeaseTtl / 3)
            {
                _lastResyncCheck = time.GetTimestamp();
                await ResyncAfterFailoverAsync(stoppingToken);
            }
            telemetry.Partitions(_owned.Count);
            try
            {
                await NextRoundAsync(settings.LeaseTtl / 3, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }

        await Task.WhenAll(_owned.Values.Select(p => p.StopAsync()));
        try
        {
            await store.ReleaseAsync(WorkerId, _owned.Keys, leaving: true, CancellationToken.None);
            await store.AnnounceLeaseNewsAsync(WorkerId, CancellationToken.None);
        }
        catch (StoreUnavailableException ex)
        {
            DeliveryLog.ClaimFailed(logger, "release on shutdown: " + ex.Message);
        }
        _owned.Clear();
        telemetry.Partitions(0);
    }

    private async Task ReconcileAsync(Claim claim, long validUntil, DeliveryOptions settings)
    {
        var held = claim.Leases.ToDictionary(l => l.Partition);
        foreach (var (partition, owned) in _owned.ToList())
        {
            if (!held.TryGetValue(partition, out var lease) || lease.Token != owned.Lease.Token || owned.IsLost)
            {
                await owned.StopAsync();
                _owned.Remove(partition);
            }
        }

        foreach (var lease in claim.Leases)
        {
            if (_owned.TryGetValue(lease.Partition, out var owned))
            {
                owned.Renewed(validUntil);
                continue;
            }
            var started = new OwnedPartition(lease, validUntil, store, drainer, time, settings.RescanInterval);
            _owned[lease.Partition] = started;
            started.Start();
        }

        // More workers joined: finish the extras' in-flight work, then hand them back.
        var extras = _owned.Keys.Order().Skip(claim.FairShare).ToList();
        if (extras.Count > 0)
        {
            DeliveryLog.Shedding(logger, WorkerId, extras.Count, claim.FairShare);
            await Task.WhenAll(extras.Select(p => _owned[p].StopAsync()));
            await store.ReleaseAsync(WorkerId, extras, leaving: false, CancellationToken.None);
            foreach (var p in extras)
            {
                _owned.Remove(p);
            }
            await store.AnnounceLeaseNewsAsync(WorkerId, CancellationToken.None);
        }
    }

    private async Task StartedAsync(CancellationToken stoppingToken)
    {
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var onStarted = lifetime.ApplicationStarted.Register(() => started.TrySetResult());
        using var onStopping = stoppingToken.Register(() => started.TrySetResult());
        await started.Task;
    }

    public override void Dispose()
    {
        _nudge.Dispose();
        base.Dispose();
    }

    // Another worker joined short of its share or released partitions: run a round now. Several news
    // before the round starts make one round.
    private void Nudge(string worker)
    {
        if (worker == WorkerId || _nudge.CurrentCount > 0)
        {
            return;
        }
        try
        {
            _nudge.Release();
        }
        catch (SemaphoreFullException)
        {
            // Another nudge got there first: one round covers both.
        }
    }

    // The next lease round: at the renewal interval, or at once when nudged.
    private async Task NextRoundAsync(TimeSpan interval, CancellationToken stoppingToken)
    {
        using var either = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
        var nudged = _nudge.WaitAsync(either.Token);
        var timer = Task.Delay(interval, time, either.Token);
        await Task.WhenAny(nudged, timer);
        await either.CancelAsync();
        try
        {
            await Task.WhenAll(nudged, timer);
        }
        catch (OperationCanceledException) when (!stoppingToken.IsCancellationRequested)
        {
            // The one that lost the race.
        }
        stoppingToken.ThrowIfCancellationRequested();
    }

    // Holding less than the fair share while others hold more (a worker that just joined, or one whose
    // peers have not shed yet): ask them to run a round now, at most once per renewal interval.
    private async Task AnnounceIfShortAsync(Claim claim, DeliveryOptions settings, CancellationToken stoppingToken)
    {
        var now = time.GetTimestamp();
        if (claim.Leases.Count >= Math.Min(claim.FairShare, store.Partitions) ||
            (_lastWant != long.MinValue && time.GetElapsedTime(_lastWant, now) < settings.LeaseTtl / 3))
        {
            return;
        }
        _lastWant = now;
        await store.AnnounceLeaseNewsAsync(WorkerId, stoppingToken);
    }

    // Before this worker delivers anything, the installation's sync marks exist: the first worker of a
    // new installation marks every partition with the instance answering now, in one step. Had a
    // partition delivered first, a restart before the marks were written would look like a new
    // installation and skip the resync (the failover test caught that).
    private async Task EnsureSyncMarksAsync(CancellationToken stoppingToken)
    {
        var identity = await store.StoreIdentityAsync(stoppingToken);
        if ((await store.SyncMarksAsync(stoppingToken)).Count == 0)
        {
            // False: another worker marked them between the read and this call, which is as good.
            await store.InitializeSyncMarksAsync(identity, stoppingToken);
        }
        _marked = true;
    }

    // A different store instance answering (failover, or a restart) may have lost recent events:
    // each partition remembers which instance its clients were last in sync with, and whoever holds
    // it queues the current state of every client's types when that is not the one answering now
    // (PROTOCOL.md section 4). Marks exist before anything is delivered (EnsureSyncMarksAsync), so a
    // partition with no mark, or another one, always means resync: an instance that lost every mark
    // lost the rest of its recent writes with them.
    private async Task ResyncAfterFailoverAsync(CancellationToken stoppingToken)
    {
        if (!_marked)
        {
            return;
        }
        try
        {
            var identity = await store.StoreIdentityAsync(stoppingToken);
            var marks = await store.SyncMarksAsync(stoppingToken);
            foreach (var owned in _owned.Values.Where(p => p.IsValid))
            {
                var partition = owned.Lease.Partition;
                if (marks.TryGetValue(partition, out var mark) && mark == identity)
                {
                    continue;
                }

                var queued = 0;
                foreach (var client in await store.ClientsInPartitionAsync(partition, stoppingToken))
                {
                    var (result, count) = await store.ResyncAsync(client, owned.Lease, stoppingToken);
                    if (result == AckResult.LeaseLost)
                    {
                        owned.MarkLost();
                        break;
                    }
                    queued += count;
                    owned.Signal(client);
                }
                DeliveryLog.Resynced(logger, partition, mark ?? "(none)", identity, queued);
                if (!owned.IsLost && await store.MarkSyncedAsync(owned.Lease, identity, stoppingToken) == AckResult.LeaseLost)
                {
                    owned.MarkLost();
                }
            }
        }
        catch (StoreUnavailableException)
        {
            // Checked again next round.
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Shutting down.
        }
    }

    /// <summary>Stops the partitions whose lease ran out or was lost; true when there were any.</summary>
    private async Task<bool> DropInvalidAsync()
    {
        var invalid = _owned.Where(p => !p.Value.IsValid).ToList();
        if (invalid.Count == 0)
        {
            return false;
        }
        if (invalid.Any(p => !p.Value.IsLost))
        {
            DeliveryLog.LeasesExpired(logger);
        }
        foreach (var (partition, owned) in invalid)
        {
            await owned.StopAsync();
            _owned.Remove(partition);
        }
        return true;
    }
}
