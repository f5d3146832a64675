using System.CommandLine;
using System.Globalization;
using System.Net;
using CrnpCloud.Core;
using CrnpCloud.Protocol;
using CrnpCloud.Testing;
using StackExchange.Redis;

namespace CrnpCloud.Benchmarks;

/// <summary>What an idle installation costs: registered clients, delivery workers, no events.</summary>
internal static class IdleBenchmark
{
    public static Command Command()
    {
        var clients = new Option<int>("--clients") { Description = "registered clients", DefaultValueFactory = _ => 1000 };
        var workers = new Option<int>("--workers") { Description = "delivery worker processes", DefaultValueFactory = _ => 2 };
        var seconds = new Option<int>("--seconds") { Description = "measured idle time", DefaultValueFactory = _ => 60 };
        var command = new Command("idle", "Redis commands/s and CPU of an idle system (issue 5, scenario 5)") { clients, workers, seconds };
        command.SetAction((r, token) => RunAsync(r.GetValue(clients), r.GetValue(workers), r.GetValue(seconds), token));
        return command;
    }

    private static async Task<int> RunAsync(int clientCount, int workerCount, int seconds, CancellationToken cancellationToken)
    {
        await using var redis = await RedisServer.StartAsync();
        using var connection = await RedisStores.ConnectAsync(redis);
        var store = RedisStores.Create(connection, "crnp:");
        var type = new EventRegistration("EC_Cluster", "ESC_cluster_membership");
        for (var c = 0; c < clientCount; c++)
        {
            await store.ApplyAsync(new RegistrationChange(RegistrationType.AddClient, new CallbackAddress(IPAddress.Loopback, 20_000 + c), EquatableList.Of(type), new RegistrationLimits(clientCount, 10)), cancellationToken);
        }
        // The whole system idles: edge and ingest (which read the live settings) and the workers.
        var environment = new Dictionary<string, string>
        {
            ["Crnp__Store__Redis"] = redis.ConnectionString,
            ["Crnp__Store__KeyPrefix"] = "crnp:",
            ["Crnp__Edge__Port"] = "0",
            ["Crnp__Ingest__Port"] = "0",
        };
        var processes = Enumerable.Range(0, workerCount).Select(_ => ServiceProcess.Start("CrnpCloud.Delivery", environment))
            .Append(ServiceProcess.Start("CrnpCloud.Edge", environment))
            .Append(ServiceProcess.Start("CrnpCloud.Ingest", environment))
            .ToList();
        try
        {
            await Task.Delay(TimeSpan.FromSeconds(15), cancellationToken);
            using var admin = await ConnectionMultiplexer.ConnectAsync(redis.ConnectionString + ",allowAdmin=true");
            var server = admin.GetServer(redis.ConnectionString);
            async Task<(long Commands, double Cpu)> Sample()
            {
                var info = (await server.InfoAsync()).SelectMany(g => g).ToDictionary(p => p.Key, p => p.Value);
                return (long.Parse(info["total_commands_processed"], CultureInfo.InvariantCulture),
                    double.Parse(info["used_cpu_sys"], CultureInfo.InvariantCulture) + double.Parse(info["used_cpu_user"], CultureInfo.InvariantCulture));
            }
            var before = await Sample();
            var workerCpu = processes.Select(p => p.Usage().CpuSeconds).ToArray();
            await Task.Delay(TimeSpan.FromSeconds(seconds), cancellationToken);
            var after = await Sample();

            // Our own two INFO calls are in the count; they are taken out.
            var commands = after.Commands - before.Commands - 1;
            Console.WriteLine($"idle: {clientCount} registered clients, {workerCount} worker process(es) + edge + ingest, {seconds} s measured");
            Console.WriteLine($"redis: {commands / (double)seconds:F2} commands/s (including those run inside scripts), CPU {(after.Cpu - before.Cpu) / seconds * 100:F2}% of one core");
            Console.WriteLine($"workers, edge, ingest CPU (of one core): {string.Join(", ", processes.Select((p, i) => $"{(p.Usage().CpuSeconds - workerCpu[i]) / seconds * 100:F2}%"))}");
            return 0;
        }
        finally
        {
            foreach (var process in processes)
            {
                await process.DisposeAsync();
            }
        }
    }
}
