using System.Collections.Concurrent;
using CrnpCloud.Core;

namespace CrnpCloud.Delivery;

/// <summary>
/// A partition this worker holds a lease on: its wake-up subscription, its periodic rescan, and one
/// delivery loop per client with work. It trusts its lease only until <see cref="ValidUntil"/>, a
/// local deadline set short of the lease's expiry, so it stops before anyone else can take over;
/// <see cref="Lapsed"/> fires at that deadline, so no delivery attempt outlives the lease it runs under.
/// </summary>
internal sealed class OwnedPartition : IHeldPartition
{
    private readonly ConcurrentDictionary<CallbackAddress, ClientLoop> _loops = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly IDeliveryStore _store;
    private readonly QueueDrainer _drainer;
    private readonly TimeProvider _time;
    private readonly TimeSpan _rescanInterval;
    private IDisposable? _subscription;
    private Task _rescans = Task.CompletedTask;
    private long _validUntil;
    private volatile bool _lost;
    private volatile CancellationTokenSource _lapse;

    public OwnedPartition(Lease lease, long validUntil, IDeliveryStore store, QueueDrainer drainer, TimeProvider time, TimeSpan rescanInterval)
    {
        Lease = lease;
        _validUntil = validUntil;
        _store = store;
        _drainer = drainer;
        _time = time;
        _rescanInterval = rescanInterval;
        _lapse = new CancellationTokenSource(Remaining(validUntil), time);
    }

    public Lease Lease { get; }

    public CancellationToken Stopping => _stop.Token;

    public bool IsLost => _lost;

    /// <summary>Deliveries may go on: not stopped, not fenced out, and the local lease deadline not passed.</summary>
    public bool IsValid => !_stop.IsCancellationRequested && !_lost && _time.GetTimestamp() < Interlocked.Read(ref _validUntil);

    /// <summary>Cancelled when the local lease deadline passes or the lease is lost (not on a graceful stop: in-flight writes finish then).</summary>
    public CancellationToken Lapsed => _lapse.Token;

    public void Renewed(long validUntil)
    {
        Interlocked.Exchange(ref _validUntil, validUntil);
        var lapse = _lapse;
        lapse.CancelAfter(Remaining(validUntil)); // nothing once it has fired
        if (lapse.IsCancellationRequested && !_lost)
        {
            // Renewed late (or the old deadline fired just now), with the same token: the store never
            // gave the lease away, so deliveries may go on; the attempts that ran under the lapsed
            // deadline have ended.
            _lapse = new CancellationTokenSource(Remaining(validUntil), _time);
        }
    }

    public void MarkLost()
    {
        _lost = true;
        _lapse.Cancel();
    }

    private TimeSpan Remaining(long validUntil) =>
        TimeSpan.FromSeconds(Math.Max(0, validUntil - _time.GetTimestamp()) / (double)_time.TimestampFrequency);

    public void Start()
    {
        _subscription = _store.OnWork(Lease.Partition, Signal);
        _rescans = Task.Run(RescanLoopAsync);
    }

    public void Signal(CallbackAddress client)
    {
        if (!IsValid)
        {
            return;
        }
        _loops.GetOrAdd(client, c => new ClientLoop(c, this, _drainer)).Signal();
    }

    /// <summary>Stops taking work and waits for in-flight deliveries of this partition to finish.</summary>
    public async Task StopAsync()
    {
        await _stop.CancelAsync();
        _subscription?.Dispose();
        await _rescans;
        await Task.WhenAll(_loops.Values.Select(l => l.Completion));
        _drainer.Telemetry.Backlog(Lease.Partition, null);
        _stop.Dispose();
        _lapse.Dispose();
    }

    // Wake-ups are hints: a lost one (store away, subscription not yet active) is found here.
    private async Task RescanLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            try
            {
                var backlog = await _store.ClientsWithWorkAsync(Lease.Partition, _stop.Token);
                _drainer.Telemetry.Backlog(Lease.Partition, backlog.Sum(b => b.Entries));
                foreach (var client in backlog)
                {
                    Signal(client.Client);
                }
                await Task.Delay(_rescanInterval, _time, _stop.Token);
            }
            catch (OperationCanceledException) when (_stop.IsCancellationRequested)
            {
                return;
            }
            catch (StoreUnavailableException)
            {
                await Task.Delay(TimeSpan.FromSeconds(1), _time, CancellationToken.None);
            }
        }
    }
}
