using System.Diagnostics;
using System.Globalization;
using CrnpCloud.Protocol;

namespace CrnpCloud.Testing;

/// <summary>
/// Every event a run sent and every delivery each client received, events told apart by a number in
/// one of their name-value pairs (the first value of <c>keyName</c>). A sent event is owed to every
/// client once the server acknowledged it. The check: every client received every owed event at least
/// once and in publish order; duplicates are counted, and an old event repeated after a newer one
/// counts as backwards (the client would see state go back), as does one that first arrives after a
/// newer one. Publish order is the order given at <see cref="Acknowledged"/> (the store's global
/// sequence), or else the number itself.
/// </summary>
public sealed class DeliveryLedger(string keyName, string eventClass = "EC_Cluster")
{
    private readonly Dictionary<long, long> _sent = []; // key -> when it was first sent
    private readonly Dictionary<long, long> _order = []; // key -> publish order, once acknowledged
    private readonly Lock _lock = new();

    /// <summary>How many events are owed to every client.</summary>
    public int AcknowledgedCount
    {
        get
        {
            lock (_lock)
            {
                return _order.Count;
            }
        }
    }

    /// <summary>An event went out (it may not be stored: the ledger owes it to no one yet); <paramref name="timestamp"/> is <see cref="Stopwatch.GetTimestamp"/>.</summary>
    public void Sent(long key, long timestamp)
    {
        lock (_lock)
        {
            _sent.TryAdd(key, timestamp);
        }
    }

    /// <summary>The server stored the event: every client is owed it. <paramref name="order"/>: its place in publish order, if not its number.</summary>
    public void Acknowledged(long key, long? order = null)
    {
        lock (_lock)
        {
            _order[key] = order ?? key;
        }
    }

    /// <summary>
    /// What a receiver keeps of each event when it keeps only what the ledger reads (see
    /// <see cref="CrnpTestListener.Keep"/>): of the ledger's events, their number.
    /// </summary>
    public static Func<CrnpEvent, CrnpEvent> KeyOnly(string keyName, string eventClass = "EC_Cluster") =>
        evt => evt.Class != eventClass ? evt : new CrnpEvent(evt.Class, evt.Subclass, evt.Vendor, evt.Publisher, evt.NameValues.First(p => p.Name == keyName));

    /// <summary>Checks each client's deliveries against what was sent and acknowledged.</summary>
    public Result Check(IEnumerable<CrnpTestListener> clients)
    {
        Dictionary<long, long> sent;
        Dictionary<long, long> order;
        lock (_lock)
        {
            sent = new(_sent);
            order = new(_order);
        }
        var latencies = new List<double>();
        var backwards = new List<string>();
        var received = new List<HashSet<long>>();
        long missing = 0, duplicates = 0, unknown = 0, firstReceipts = 0, lastReceipt = 0;
        foreach (var client in clients)
        {
            var seen = new HashSet<long>();
            var max = long.MinValue;
            var maxKey = 0L;
            foreach (var (evt, at) in client.Received)
            {
                if (evt.Class != eventClass)
                {
                    continue;
                }
                if (KeyOf(evt) is not { } key || !sent.TryGetValue(key, out var sentAt))
                {
                    unknown++;
                    continue;
                }
                var place = order.TryGetValue(key, out var acknowledged) ? acknowledged : key;
                if (!seen.Add(key))
                {
                    duplicates++;
                    if (place < max)
                    {
                        backwards.Add($"{client.Address}: {key} repeated after {maxKey}");
                    }
                    continue;
                }
                if (place < max)
                {
                    backwards.Add($"{client.Address}: {key} arrived after {maxKey}");
                }
                else
                {
                    (max, maxKey) = (place, key);
                }
                firstReceipts++;
                lastReceipt = Math.Max(lastReceipt, at);
                latencies.Add(Stopwatch.GetElapsedTime(sentAt, at).TotalMilliseconds);
            }
            missing += order.Keys.Count(k => !seen.Contains(k));
            received.Add(seen);
        }
        var lost = order.Keys.Count(k => received.Any(r => !r.Contains(k)));
        return new Result(order.Count, received.Count, firstReceipts, missing, lost, duplicates, backwards, unknown, latencies, lastReceipt);
    }

    /// <summary>Every client's first receipt of each event: which client, when sent, when received.</summary>
    public IEnumerable<(int Client, long Published, long Received)> FirstReceipts(IReadOnlyList<CrnpTestListener> clients)
    {
        for (var i = 0; i < clients.Count; i++)
        {
            foreach (var (sent, at) in FirstReceiptsOf(clients[i]))
            {
                yield return (i, sent, at);
            }
        }
    }

    /// <summary>Per second since <paramref name="start"/> (by send time): first receipts and their worst latency, for a timeline.</summary>
    public IEnumerable<string> WorstBySecond(IEnumerable<CrnpTestListener> clients, long start)
    {
        var worst = new SortedDictionary<int, (int Count, double Max)>();
        foreach (var (sent, at) in clients.SelectMany(FirstReceiptsOf))
        {
            var second = (int)Stopwatch.GetElapsedTime(start, sent).TotalSeconds;
            var (count, max) = worst.GetValueOrDefault(second);
            worst[second] = (count + 1, Math.Max(max, Stopwatch.GetElapsedTime(sent, at).TotalMilliseconds));
        }
        return worst.Select(w => string.Create(CultureInfo.InvariantCulture, $"{w.Key}s:{w.Value.Max:F0}"));
    }

    private IEnumerable<(long Sent, long At)> FirstReceiptsOf(CrnpTestListener client)
    {
        var seen = new HashSet<long>();
        foreach (var (evt, at) in client.Received)
        {
            if (evt.Class == eventClass && KeyOf(evt) is { } key && seen.Add(key) && SentAt(key) is { } sent)
            {
                yield return (sent, at);
            }
        }
    }

    private long? SentAt(long key)
    {
        lock (_lock)
        {
            return _sent.TryGetValue(key, out var at) ? at : null;
        }
    }

    private long? KeyOf(CrnpEvent evt) =>
        evt.NameValues.FirstOrDefault(p => p.Name == keyName) is { Values.Count: > 0 } pair
        && long.TryParse(pair.Values[0], NumberStyles.Integer, CultureInfo.InvariantCulture, out var key) ? key : null;

    /// <summary>What the check found.</summary>
    /// <param name="Owed">events acknowledged, so owed to every client</param>
    /// <param name="Delivered">first receipts of sent events, over all clients</param>
    /// <param name="Missing">owed deliveries that never came, over all clients</param>
    /// <param name="LostEvents">owed events that at least one client never received</param>
    /// <param name="Backwards">each receipt that came after a newer event's</param>
    /// <param name="Unknown">receipts of events this run never sent</param>
    /// <param name="Latencies">send -> first receipt, ms</param>
    /// <param name="LastReceipt">the last first receipt (<see cref="Stopwatch.GetTimestamp"/>)</param>
    public sealed record Result(int Owed, int Clients, long Delivered, long Missing, int LostEvents, long Duplicates, IReadOnlyList<string> Backwards,
        long Unknown, List<double> Latencies, long LastReceipt)
    {
        public long OutOfOrder => Backwards.Count;

        public bool Valid => Missing == 0 && OutOfOrder == 0 && Unknown == 0;

        public override string ToString() =>
            $"ledger: {Delivered} first deliveries, missing {Missing}, out of order {OutOfOrder}, duplicates {Duplicates}, unknown {Unknown} -> {(Valid ? "VALID" : "INVALID")}";
    }
}
