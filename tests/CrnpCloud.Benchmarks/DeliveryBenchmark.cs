using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using CrnpCloud.Core;
using CrnpCloud.Protocol;
using CrnpCloud.Testing;

namespace CrnpCloud.Benchmarks;

/// <summary>
/// Delivery throughput and latency: N delivery workers as separate processes on their own
/// redis-server, real TCP receivers in this process, every event to every client, each receipt
/// checked for order. The publish time travels in an ev_ nvpair, which CRNP passes to clients.
/// </summary>
internal static class DeliveryBenchmark
{
    public static Command Command()
    {
        var clients = new Option<int>("--clients") { Description = "receiving clients (each gets every event)", DefaultValueFactory = _ => 1000 };
        var events = new Option<int>("--events") { Description = "events published", DefaultValueFactory = _ => 20 };
        var workers = new Option<int>("--workers") { Description = "delivery worker processes", DefaultValueFactory = _ => 2 };
        var rate = new Option<double>("--rate") { Description = "events published per second (0 = all at once, measuring drain)", DefaultValueFactory = _ => 0 };
        var command = new Command("deliver", "delivery throughput and publish-to-receipt latency (issue 5)") { clients, events, workers, rate };
        command.SetAction((r, token) => RunAsync(r.GetValue(clients), r.GetValue(events), r.GetValue(workers), r.GetValue(rate), token));
        return command;
    }

    private static async Task<int> RunAsync(int clientCount, int eventCount, int workerCount, double rate, CancellationToken cancellationToken)
    {
        await using var redis = await RedisServer.StartAsync();
        using var connection = await RedisStores.ConnectAsync(redis);
        var store = RedisStores.Create(connection, "crnp:");
        var listeners = Enumerable.Range(0, clientCount).Select(_ => CrnpTestListener.Start()).ToList();
        var membership = new EventRegistration("EC_Cluster", "ESC_cluster_membership");
        foreach (var listener in listeners)
        {
            await store.ApplyAsync(new RegistrationChange(RegistrationType.AddClient, listener.Address, EquatableList.Of(membership), new RegistrationLimits(clientCount, 10)), cancellationToken);
        }

        var processes = Enumerable.Range(0, workerCount).Select(_ => ServiceProcess.Start("CrnpCloud.Delivery", new Dictionary<string, string>
        {
            ["Crnp__Store__Redis"] = redis.ConnectionString,
            ["Crnp__Store__KeyPrefix"] = "crnp:",
            ["Crnp__Delivery__LeaseTtl"] = "00:00:03",
        })).ToList();
        try
        {
            // Let the workers settle their shares before timing.
            await Task.Delay(TimeSpan.FromSeconds(3), cancellationToken);
            Console.WriteLine($"deliver: {clientCount} clients x {eventCount} events = {clientCount * eventCount} deliveries, {workerCount} worker process(es), publishing {(rate > 0 ? $"{rate} events/s" : "all at once")}");
            var cpuBefore = processes.Select(p => p.Usage().CpuSeconds).ToArray();
            var clock = Stopwatch.StartNew();
            for (var i = 0; i < eventCount; i++)
            {
                if (rate > 0 && TimeSpan.FromSeconds(i / rate) - clock.Elapsed is { Ticks: > 0 } wait)
                {
                    await Task.Delay(wait, cancellationToken);
                }
                await store.PublishAsync(new CrnpEvent("EC_Cluster", "ESC_cluster_membership", "SUNW", "rgm",
                    new NameValue("node_list", "node1", "node2"), new NameValue("state_list", i.ToString(CultureInfo.InvariantCulture), "-1"),
                    new NameValue("ev_bench_ts", Stopwatch.GetTimestamp().ToString(CultureInfo.InvariantCulture))), cancellationToken: cancellationToken);
            }
            foreach (var listener in listeners)
            {
                await listener.WaitForAsync(eventCount, TimeSpan.FromMinutes(10));
            }
            var wall = clock.Elapsed.TotalSeconds;

            var latencies = new List<double>(clientCount * eventCount);
            var outOfOrder = 0;
            foreach (var listener in listeners)
            {
                var received = listener.Received.ToArray();
                for (var i = 0; i < received.Length; i++)
                {
                    var sent = long.Parse(received[i].Event.NameValues.Single(p => p.Name == "ev_bench_ts").Values[0], CultureInfo.InvariantCulture);
                    latencies.Add(Stopwatch.GetElapsedTime(sent, received[i].At).TotalMilliseconds);
                    if (received[i].Event.NameValues[1].Values[0] != i.ToString(CultureInfo.InvariantCulture))
                    {
                        outOfOrder++;
                    }
                }
            }
            var cpu = processes.Select((p, i) => $"{(p.Usage().CpuSeconds - cpuBefore[i]) / wall * 100:F0}%");
            Console.WriteLine($"throughput: {latencies.Count / wall:F0} deliveries/s over {wall:F1} s; out of order: {outOfOrder}");
            Console.WriteLine($"publish -> received: {Percentiles.Summary(latencies)}");
            Console.WriteLine($"worker CPU (of one core): {string.Join(", ", cpu)}; peak RSS: {string.Join(", ", processes.Select(p => $"{p.Usage().PeakRssMiB:F0} MiB"))}");
            return outOfOrder == 0 ? 0 : 1;
        }
        finally
        {
            foreach (var process in processes)
            {
                await process.DisposeAsync();
            }
            foreach (var listener in listeners)
            {
                await listener.DisposeAsync();
            }
        }
    }
}
