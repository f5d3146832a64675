using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using CrnpCloud.Protocol;
using CrnpCloud.Testing;

namespace CrnpCloud.Benchmarks;

/// <summary>
/// Registration reply latency at a steady rate: an open-loop generator sends ADD_CLIENT documents
/// to a separate edge process (backed by a separate redis-server, or its in-memory store) and times
/// connect -> reply read to EOF.
/// </summary>
internal static class RegistrationBenchmark
{
    public static Command Command()
    {
        var rate = new Option<int>("--rate") { Description = "registrations per second", DefaultValueFactory = _ => 500 };
        var seconds = new Option<int>("--seconds") { Description = "how long to keep the rate", DefaultValueFactory = _ => 30 };
        var clients = new Option<int>("--clients") { Description = "distinct callback ports (re-registrations replace)", DefaultValueFactory = _ => 1000 };
        var store = new Option<string>("--store") { Description = "redis or memory", DefaultValueFactory = _ => "redis" };
        store.AcceptOnlyFromAmong("redis", "memory");
        var command = new Command("registrations", "registration reply latency at a steady rate (issue 3, scenario 4)") { rate, seconds, clients, store };
        command.SetAction((result, token) => RunAsync(result.GetValue(rate), result.GetValue(seconds), result.GetValue(clients), result.GetValue(store)!, token));
        return command;
    }

    private static async Task<int> RunAsync(int rate, int seconds, int clientCount, string storeKind, CancellationToken cancellationToken)
    {
        await using var redis = storeKind == "redis" ? await RedisServer.StartAsync() : null;
        var port = RedisServer.FreePort();
        var environment = new Dictionary<string, string>
        {
            ["Crnp__Edge__Port"] = port.ToString(CultureInfo.InvariantCulture),
            ["Crnp__Edge__MaxClients"] = (clientCount + 10).ToString(CultureInfo.InvariantCulture),
            ["Crnp__Store__Redis"] = redis?.ConnectionString ?? "",
        };
        await using var edge = ServiceProcess.Start("CrnpCloud.Edge", environment);
        var server = new IPEndPoint(IPAddress.Loopback, port);
        var documents = Enumerable.Range(0, clientCount).Select(i => CrnpWriter.ToBytes(new CallbackRegistration(
            RegistrationType.AddClient, 20000 + i,
            new EventRegistration("EC_Cluster", "ESC_cluster_membership"),
            new EventRegistration("EC_Cluster", "ESC_cluster_rg_state", new NameValue("rg_name", "rg" + (i % 50)))))).ToArray();
        await Eventually.TrueAsync(async () =>
        {
            try
            {
                return (await CrnpTestClient.SendAsync(server, documents[0])).Status == StatusCode.Ok;
            }
            catch (System.Net.Sockets.SocketException)
            {
                return false;
            }
        }, "the edge answers");

        Console.WriteLine($"registrations: {rate}/s for {seconds} s, {clientCount} clients, store={storeKind}, edge pid {edge.Pid}");
        var latencies = new List<double>(rate * seconds);
        var lateness = new List<double>(rate * seconds);
        var failures = new Dictionary<string, int>();
        var inFlight = new List<Task>(rate * seconds);
        var gate = new Lock();
        var cpuBefore = edge.Usage().CpuSeconds;
        var clock = Stopwatch.StartNew();
        var total = rate * seconds;
        for (var i = 0; i < total; i++)
        {
            var due = TimeSpan.FromSeconds((double)i / rate);
            var wait = due - clock.Elapsed;
            if (wait > TimeSpan.Zero)
            {
                await Task.Delay(wait, cancellationToken);
            }
            var late = (clock.Elapsed - due).TotalMilliseconds;
            var document = documents[i % clientCount];
            inFlight.Add(Task.Run(async () =>
            {
                var started = Stopwatch.GetTimestamp();
                string outcome;
                try
                {
                    var reply = await CrnpTestClient.SendAsync(server, document);
                    outcome = reply.Status.ToWire();
                }
                catch (Exception ex)
                {
                    outcome = ex.GetType().Name;
                }
                var elapsed = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
                lock (gate)
                {
                    if (outcome == "OK")
                    {
                        latencies.Add(elapsed);
                    }
                    else
                    {
                        failures[outcome] = failures.GetValueOrDefault(outcome) + 1;
                    }
                    lateness.Add(late);
                }
            }, cancellationToken));
        }
        await Task.WhenAll(inFlight);
        var wall = clock.Elapsed.TotalSeconds;
        var (cpuAfter, peakRss) = edge.Usage();

        Console.WriteLine($"achieved: {total / wall:F0} registrations/s over {wall:F1} s; OK {latencies.Count}, other {string.Join(", ", failures.Select(f => $"{f.Key} {f.Value}"))}");
        Console.WriteLine($"reply latency (connect -> reply read to EOF): {Percentiles.Summary(latencies)}");
        Console.WriteLine($"generator lateness (send started after its slot): {Percentiles.Summary(lateness)}");
        Console.WriteLine($"edge process: CPU {(cpuAfter - cpuBefore) / wall * 100:F1}% of one core, peak RSS {peakRss:F0} MiB");
        return failures.Count == 0 ? 0 : 1;
    }
}
