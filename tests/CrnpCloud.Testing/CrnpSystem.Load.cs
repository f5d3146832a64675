using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using CrnpCloud.Ingest.V1;
using CrnpCloud.Protocol;

namespace CrnpCloud.Testing;

/// <summary>
/// The CRNP side of a <see cref="CrnpSystem"/>: clients registered through the edge, and numbered
/// publishing with a ledger (the chaos test, the Sentinel failover tests, <c>soak</c>). The publisher
/// counts an event as acknowledged only when the ingest answered; the check says whether every client
/// got every acknowledged event, in order, and is still registered.
/// </summary>
public sealed partial class CrnpSystem
{
    private readonly List<CrnpTestListener> _listeners = [];
    private readonly List<long> _acknowledgedAt = [];
    private readonly DeliveryLedger _ledger = new("state_list");
    private CancellationTokenSource? _stopPublishing;
    private Task _publisher = Task.CompletedTask;

    /// <summary>The clients <see cref="SystemOptions.Clients"/> asked for, registered for cluster membership.</summary>
    public IReadOnlyList<CrnpTestListener> Listeners => _listeners;

    /// <summary>Events the ingest acknowledged so far.</summary>
    public int Acknowledged => _ledger.AcknowledgedCount;

    /// <summary>A registration for cluster membership events (<c>EC_Cluster</c>/<c>ESC_cluster_membership</c>).</summary>
    public static CallbackRegistration Membership(RegistrationType type, int port) =>
        new(type, port, EquatableList.Of(new EventRegistration("EC_Cluster", "ESC_cluster_membership")));

    private async Task StartClientsAsync(int count)
    {
        for (var i = 0; i < count; i++)
        {
            _listeners.Add(CrnpTestListener.Start());
        }
        foreach (var listener in _listeners)
        {
            await AddClientAsync(listener.Address.Port, TimeSpan.FromSeconds(60));
        }
    }

    /// <summary>Registers a client on this host for cluster membership through the edge, as a CRNP client does; throws unless the answer is OK.</summary>
    /// <param name="patience">how long a RETRY, or no answer, is asked again (none: one attempt)</param>
    public async Task AddClientAsync(int callbackPort, TimeSpan patience = default)
    {
        var reply = await RegisterAsync(Membership(RegistrationType.AddClient, callbackPort), patience);
        if (reply.Status != StatusCode.Ok)
        {
            throw new InvalidOperationException($"registration of port {callbackPort} refused: {reply.Status} {reply.Message}");
        }
    }

    /// <summary><see cref="AddClientAsync"/> for many ports, <paramref name="concurrency"/> at a time.</summary>
    public Task AddClientsAsync(IEnumerable<int> callbackPorts, int concurrency = 16) =>
        Parallel.ForEachAsync(callbackPorts, new ParallelOptions { MaxDegreeOfParallelism = concurrency }, async (port, _) => await AddClientAsync(port));

    /// <summary>
    /// Sends a registration to the current edge; a RETRY answer, or no answer (the edge restarting), is
    /// tried again every 250 ms for up to <paramref name="patience"/>, then the last answer is returned
    /// (no answer at all: a <see cref="StatusCode.Retry"/> reply naming the error).
    /// </summary>
    public async Task<CrnpReply> RegisterAsync(CallbackRegistration message, TimeSpan patience)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            CrnpReply reply;
            try
            {
                reply = await CrnpTestClient.RegisterAsync(Edge, message);
            }
            catch (Exception ex) when (ex is SocketException or IOException or OperationCanceledException)
            {
                reply = new CrnpReply(StatusCode.Retry, $"no answer from the edge: {ex.Message}");
            }
            if (reply.Status != StatusCode.Retry || clock.Elapsed >= patience)
            {
                return reply.Status == StatusCode.Retry
                    ? reply with { Message = $"{reply.Message} (still RETRY after {clock.Elapsed.TotalSeconds:F0} s)" }
                    : reply;
            }
            await Task.Delay(250);
        }
    }

    /// <summary>
    /// Publishes membership events 0, 1, 2, ... one at a time through the current ingest, event n with n
    /// in <c>state_list[0]</c> and an idempotency key of <paramref name="keyPrefix"/> + n; an event not
    /// acknowledged (an error, or no answer in 3 s) is sent again, under the same key.
    /// </summary>
    public void StartPublishing(TimeSpan pause, string keyPrefix = "chaos-") => StartPublishing(_ => pause, keyPrefix);

    /// <summary>
    /// <see cref="StartPublishing(TimeSpan, string)"/> at a steady rate: event n is sent no earlier than
    /// n / rate seconds after the start; behind schedule (after an outage) it catches up without pausing.
    /// </summary>
    public void StartPublishingAt(double eventsPerSecond, string keyPrefix = "chaos-")
    {
        var start = Stopwatch.GetTimestamp();
        StartPublishing(n =>
        {
            var due = TimeSpan.FromSeconds(n / eventsPerSecond) - Stopwatch.GetElapsedTime(start);
            return due > TimeSpan.Zero ? due : TimeSpan.Zero;
        }, keyPrefix);
    }

    private void StartPublishing(Func<int, TimeSpan> pauseBefore, string keyPrefix)
    {
        if (_stopPublishing is not null)
        {
            throw new InvalidOperationException("publishing runs already");
        }
        var stop = _stopPublishing = new CancellationTokenSource();
        _publisher = Task.Run(async () =>
        {
            var n = 0;
            while (!stop.IsCancellationRequested)
            {
                try
                {
                    _ledger.Sent(n, Stopwatch.GetTimestamp());
                    await IngestClient.PublishAsync(Numbered(n, keyPrefix), deadline: DateTime.UtcNow.AddSeconds(3), cancellationToken: stop.Token);
                    lock (_acknowledgedAt)
                    {
                        _ledger.Acknowledged(n);
                        _acknowledgedAt.Add(Stopwatch.GetTimestamp());
                    }
                    n++;
                    var pause = pauseBefore(n);
                    if (pause > TimeSpan.Zero)
                    {
                        await Task.Delay(pause, stop.Token);
                    }
                }
                catch (OperationCanceledException) when (stop.IsCancellationRequested)
                {
                    return;
                }
                catch (Exception)
                {
                    await Task.Delay(100); // ingest or Redis away: the same event again
                }
            }
        });
    }

    private static PublishRequest Numbered(int n, string keyPrefix)
    {
        var text = n.ToString(CultureInfo.InvariantCulture);
        var request = new PublishRequest
        {
            Event = new Event { Class = "EC_Cluster", Subclass = "ESC_cluster_membership" },
            IdempotencyKey = keyPrefix + text,
        };
        request.Event.Nvpairs.Add(new Ingest.V1.NameValue { Name = "node_list", Values = { "n1", "n2" } });
        request.Event.Nvpairs.Add(new Ingest.V1.NameValue { Name = "state_list", Values = { text, "-1" } });
        return request;
    }

    private async Task StopPublishingAsync()
    {
        if (Interlocked.Exchange(ref _stopPublishing, null) is { } stop)
        {
            await stop.CancelAsync();
            await _publisher;
            stop.Dispose();
        }
    }

    /// <summary>
    /// The longest time without an acknowledgement that ended after <paramref name="since"/> (a
    /// <see cref="Stopwatch.GetTimestamp"/> value): how long publishing was unavailable around a fault.
    /// </summary>
    public TimeSpan LongestAcknowledgementGap(long since)
    {
        lock (_acknowledgedAt)
        {
            var longest = TimeSpan.Zero;
            for (var i = 1; i < _acknowledgedAt.Count; i++)
            {
                if (_acknowledgedAt[i] > since)
                {
                    var gap = Stopwatch.GetElapsedTime(_acknowledgedAt[i - 1], _acknowledgedAt[i]);
                    longest = gap > longest ? gap : longest;
                }
            }
            return longest;
        }
    }

    public Task WaitForProgressAsync(int more, string after, TimeSpan? timeout = null)
    {
        var target = Acknowledged + more;
        return Eventually.TrueAsync(() => Task.FromResult(Acknowledged >= target), $"{more} more events are acknowledged after {after}", timeout ?? TimeSpan.FromSeconds(60));
    }

    /// <summary>Stops publishing, waits up to <paramref name="recovery"/> for every client to have every acknowledged event, and checks the ledger.</summary>
    public async Task<Report> StopAndCheckAsync(TimeSpan recovery)
    {
        await StopPublishingAsync();
        var waiting = Stopwatch.StartNew();
        try
        {
            await Eventually.TrueAsync(() => Task.FromResult(_ledger.Check(Listeners).Missing == 0), "every client has every acknowledged event", recovery);
        }
        catch (TimeoutException)
        {
            // The ledger says what is missing.
        }
        var ledger = _ledger.Check(Listeners);

        // ADD_EVENTS succeeds only for a registered client. RETRY (the store is not back yet, e.g. after a
        // redis-server restart just before) is asked again until the deadline, as a CRNP client would.
        var unregistered = new List<string>();
        var registering = Stopwatch.StartNew();
        foreach (var listener in Listeners)
        {
            var again = await RegisterAsync(Membership(RegistrationType.AddEvents, listener.Address.Port), recovery - registering.Elapsed);
            if (again.Status != StatusCode.Ok)
            {
                unregistered.Add($"{listener.Address}: {again.Status} {again.Message}");
            }
        }
        foreach (var (_, process) in Processes)
        {
            Collect(process);
        }
        return new Report(ledger, unregistered, Faults, [.. _problems]);
    }

    /// <summary>What a run under faults did to the ledger.</summary>
    public sealed record Report(DeliveryLedger.Result Ledger, IReadOnlyList<string> Unregistered, int Faults, IReadOnlyList<string> Problems)
    {
        public int Acknowledged => Ledger.Owed;

        public int Clients => Ledger.Clients;

        /// <summary>Acknowledged deliveries that never came, over all clients.</summary>
        public long Missing => Ledger.Missing;

        /// <summary>Acknowledged events that at least one client never received.</summary>
        public int LostEvents => Ledger.LostEvents;

        /// <summary>Receipts after a newer event's (an old event again included).</summary>
        public IReadOnlyList<string> Backwards => Ledger.Backwards;

        public long Duplicates => Ledger.Duplicates;

        public bool Clean => Missing == 0 && Backwards.Count == 0 && Unregistered.Count == 0 && Problems.Count == 0;

        public override string ToString() =>
            $"ledger: {Acknowledged} acknowledged events x {Clients} clients after {Faults} faults; missing {Missing} ({LostEvents} events), backwards {Backwards.Count}, " +
            $"duplicates {Duplicates}, registrations lost {Unregistered.Count}, unhandled exceptions logged {Problems.Count} -> {(Clean ? "CLEAN" : "FAILED")}";
    }
}
