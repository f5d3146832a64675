using System.Diagnostics;
using System.Globalization;

namespace CrnpCloud.Benchmarks;

/// <summary>
/// Issue 17, "no stall when workers come and go": 10 clients at 1,000 deliveries/s on two workers; a
/// third joins at 5 s, one leaves (SIGTERM) at 15 s, one is killed (SIGKILL) at 25 s. Prints, for the
/// events published in each phase, publish -> received p50/p99/max and the longest any client went
/// without a delivery. A kill costs up to the lease TTL (the dead worker's partitions wait for their
/// leases to expire); joining and leaving should cost nothing visible.
/// </summary>
internal static partial class E2eBenchmark
{
    private static readonly (double At, string What)[] RebalancePhases =
        [(0, "two workers"), (5, "a third joined"), (15, "one left (SIGTERM)"), (25, "one killed (SIGKILL)"), (40, "end")];

    private static async Task<bool> RebalanceAsync(int clientCount, double rate, CancellationToken cancellationToken)
    {
        Console.WriteLine($"== processes: rebalance: {clientCount} clients at {rate} events/s, 2 workers; +1 at 5 s, SIGTERM one at 15 s, SIGKILL one at 25 s");
        await using var system = await StartSystemAsync("processes", 2, Extra);
        var receivers = Enumerable.Range(0, clientCount).Select(_ => Receiver()).ToList();
        try
        {
            await RegisterAsync(system, receivers, cancellationToken);
            var warmup = Warmup ?? (int)(rate * 5);
            BenchResults.Phase = null;
            Console.WriteLine($"-- warm-up: {warmup} events, not measured");
            var warm = (await DeliverAsync(system, receivers, warmup, rate, cancellationToken)).Result.Valid;
            foreach (var r in receivers)
            {
                r.Received.Clear();
            }

            Console.WriteLine("-- measured:");
            BenchResults.Phase = "rebalance";
            var clock = Stopwatch.StartNew();
            var events = (int)(rate * RebalancePhases[^1].At);
            var delivering = DeliverAsync(system, receivers, events, rate, cancellationToken, firstSequence: 1_000_000);
            var changes = Task.Run(async () =>
            {
                await Until(5);
                var joined = await system.AddWorkerAsync();
                Console.WriteLine($"-- {clock.Elapsed.TotalSeconds:F1} s: {joined} joined");
                await Until(15);
                await system.StopWorkerAsync("delivery1", kill: false);
                Console.WriteLine($"-- {clock.Elapsed.TotalSeconds:F1} s: delivery1 stopped (SIGTERM)");
                await Until(25);
                await system.StopWorkerAsync("delivery2", kill: true);
                Console.WriteLine($"-- {clock.Elapsed.TotalSeconds:F1} s: delivery2 killed (SIGKILL)");
            }, cancellationToken);
            var phase = await delivering;
            await changes;

            var receipts = phase.Ledger.FirstReceipts(receivers).ToList();
            double Seconds(long timestamp) => Stopwatch.GetElapsedTime(phase.Started, timestamp).TotalSeconds;
            for (var i = 0; i + 1 < RebalancePhases.Length; i++)
            {
                var (from, what) = RebalancePhases[i];
                var to = RebalancePhases[i + 1].At;
                var inPhase = receipts.Where(r => Seconds(r.Published) >= from && Seconds(r.Published) < to).ToList();
                var latencies = inPhase.Select(r => Stopwatch.GetElapsedTime(r.Published, r.Received).TotalMilliseconds).ToList();
                // The longest a client waited between receipts (or from the phase start) while events published in this phase were due.
                var gap = inPhase.GroupBy(r => r.Client).Select(g => g.Select(r => Seconds(r.Received)).Order().Prepend(from)
                    .Zip(g.Select(r => Seconds(r.Received)).Order(), (a, b) => b - a).DefaultIfEmpty().Max()).DefaultIfEmpty().Max();
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"phase {from:F0}-{to:F0} s ({what}): {Percentiles.Summary(latencies)}; longest without a delivery {gap * 1000:F0} ms"));
                BenchResults.Phase = string.Create(CultureInfo.InvariantCulture, $"rebalance/{from:F0}-{to:F0}s");
                BenchResults.RecordLatencies("latency", latencies);
                BenchResults.Record("longest_gap", gap * 1000, "ms", higherIsBetter: false);
            }
            return warm && phase.Result.Valid;

            async Task Until(double seconds)
            {
                var left = TimeSpan.FromSeconds(seconds) - clock.Elapsed;
                if (left > TimeSpan.Zero)
                {
                    await Task.Delay(left, cancellationToken);
                }
            }
        }
        finally
        {
            foreach (var r in receivers)
            {
                await r.DisposeAsync();
            }
        }
    }
}
