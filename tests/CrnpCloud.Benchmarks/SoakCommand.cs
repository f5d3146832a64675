using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using CrnpCloud.Testing;

namespace CrnpCloud.Benchmarks;

/// <summary>
/// Mixed load with the chaos loop for a long time (not in CI): continuous publishing to the clients,
/// registration churn through the edge, and every interval one fault at random (kill -9 of a worker,
/// edge restart, kill -9 of the edge, ingest restart, kill -9 of the ingest, redis-server kill -9).
/// Prints progress and, at the end, the ledger (whose registration check asks again on RETRY, up to
/// its recovery time: the last fault may have been a redis-server restart a moment before). With
/// <c>--sentinel</c> the store is a Sentinel topology (master + 2 replicas + 3 Sentinels) with
/// <c>--min-replicas</c> (default 1), and the Redis fault is a failover instead: kill -9 of the
/// master (restarted as a replica once a replica is promoted) or SIGSTOP of the master for 10 s.
/// </summary>
internal static class SoakCommand
{
    public static Command Command()
    {
        var minutes = new Option<double>("--minutes") { Description = "how long", DefaultValueFactory = _ => 30 };
        var clients = new Option<int>("--clients") { Description = "receiving clients", DefaultValueFactory = _ => 50 };
        var workers = new Option<int>("--workers") { Description = "delivery worker processes", DefaultValueFactory = _ => 2 };
        var interval = new Option<double>("--fault-every") { Description = "seconds between faults", DefaultValueFactory = _ => 20 };
        var sentinel = new Option<bool>("--sentinel") { Description = "the store is a Sentinel topology; Redis faults are failovers (issue 16)" };
        var minReplicas = new Option<int>("--min-replicas") { Description = "Crnp:Store:MinReplicas with --sentinel", DefaultValueFactory = _ => 1 };
        var command = new Command("soak", "mixed load with the chaos loop, then the ledger (issue 10)") { minutes, clients, workers, interval, sentinel, minReplicas };
        command.SetAction(async (r, token) =>
        {
            if (!r.GetValue(sentinel))
            {
                await using var rig = await CrnpSystem.StartAsync(SystemOptions.Chaos(r.GetValue(clients), r.GetValue(workers)));
                return await RunAsync(rig, null, r.GetValue(minutes), r.GetValue(workers), r.GetValue(interval), token);
            }
            await using var topology = await RedisSentinel.StartAsync();
            await using var onSentinel = await CrnpSystem.StartAsync((SystemOptions.Chaos(r.GetValue(clients), r.GetValue(workers)) with { Store = topology.ConnectionString })
                .Set(new Dictionary<string, string> { ["Crnp__Store__MinReplicas"] = r.GetValue(minReplicas).ToString(CultureInfo.InvariantCulture) }));
            return await RunAsync(onSentinel, topology, r.GetValue(minutes), r.GetValue(workers), r.GetValue(interval), token);
        });
        return command;
    }

    // kill -9 of the master (restarted as a replica once another is promoted), or SIGSTOP for 10 s.
    private static async Task<string> FailOverAsync(RedisSentinel topology, bool kill)
    {
        var master = await topology.MasterPortAsync();
        if (kill)
        {
            await topology.KillAsync(master);
            await topology.WaitForNewMasterAsync(master, TimeSpan.FromSeconds(60));
            await topology.RestartAsync(master);
            return "kill -9 of the Redis master";
        }
        topology.Stop(master);
        try
        {
            await Task.Delay(TimeSpan.FromSeconds(10));
        }
        finally
        {
            topology.Continue(master);
        }
        return "SIGSTOP of the Redis master for 10 s";
    }

    private static async Task<int> RunAsync(CrnpSystem rig, RedisSentinel? topology, double minutes, int workers, double faultEvery, CancellationToken cancellationToken)
    {
        var clients = rig.Listeners.Count;
        rig.StartPublishing(TimeSpan.FromMilliseconds(20), keyPrefix: "soak-");

        // Registration churn: extra clients that come and go through the edge (not in the ledger).
        using var stopChurn = new CancellationTokenSource();
        var churned = 0;
        var churn = Task.Run(async () =>
        {
            // Below the ephemeral range the listeners' ports come from, so churn never touches a ledger client.
            var port = 0;
            while (!stopChurn.IsCancellationRequested)
            {
                try
                {
                    var p = (port++ % 10_000) + 20_000;
                    var add = await CrnpTestClient.RegisterAsync(rig.Edge, new Protocol.CallbackRegistration(Protocol.RegistrationType.AddClient, p,
                        Protocol.EquatableList.Of(new Protocol.EventRegistration("EC_Cluster", "ESC_cluster_rg_state", new Protocol.NameValue("rg_name", "soak")))));
                    await CrnpTestClient.RegisterAsync(rig.Edge, new Protocol.CallbackRegistration(Protocol.RegistrationType.RemoveClient, p));
                    churned += add.Status == Protocol.StatusCode.Ok ? 1 : 0;
                    await Task.Delay(200, stopChurn.Token);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
                catch (Exception)
                {
                    await Task.Delay(500); // edge restarting
                }
            }
        });

        Console.WriteLine($"soak: {minutes} min, {clients} clients, {workers} workers, a fault every {faultEvery} s{(topology is null ? "" : ", through Sentinel")}");
        var random = new Random(20261123);
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < TimeSpan.FromMinutes(minutes))
        {
            await Task.Delay(TimeSpan.FromSeconds(faultEvery), cancellationToken);
            var fault = random.Next(6);
            var name = fault switch
            {
                0 => "kill -9 worker",
                1 => "restart edge",
                2 => "kill -9 edge",
                3 => "restart ingest",
                4 => "kill -9 ingest",
                _ => "kill -9 redis-server",
            };
            switch (fault)
            {
                case 0: await rig.KillWorkerAsync(random.Next(workers)); break;
                case 1: await rig.RestartEdgeAsync(); break;
                case 2: await rig.KillEdgeAsync(); break;
                case 3: await rig.RestartIngestAsync(); break;
                case 4: await rig.KillIngestAsync(); break;
                default:
                    if (topology is null)
                    {
                        await rig.KillRedisAsync();
                    }
                    else
                    {
                        name = await FailOverAsync(topology, random.Next(2) == 0);
                    }
                    break;
            }
            var rss = string.Join(", ", rig.Processes.Select(p => $"{p.Name} {p.Process.Usage().PeakRssMiB:F0}"));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{clock.Elapsed:hh\\:mm\\:ss} {name}; acknowledged {rig.Acknowledged}; registrations churned {churned}; peak RSS MiB: {rss}"));
        }
        await stopChurn.CancelAsync();
        await churn;
        var report = await rig.StopAndCheckAsync(TimeSpan.FromMinutes(2));
        Console.WriteLine(report);
        foreach (var line in report.Backwards.Take(10).Concat(report.Unregistered.Take(10)).Concat(report.Problems.Take(10)))
        {
            Console.WriteLine("  " + line);
        }
        return report.Clean ? 0 : 1;
    }
}
