using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using CrnpCloud.Ingest.V1;
using CrnpCloud.Protocol;
using CrnpCloud.Testing;
using Grpc.Net.Client;

namespace CrnpCloud.Benchmarks;

/// <summary>
/// The cost of "acknowledged means replicated" (PROTOCOL.md section 12): the edge and the ingest as
/// processes on a real Sentinel topology (master + 2 replicas + 3 Sentinels), once per
/// Crnp:Store:MinReplicas value; publish latency (unary gRPC, each event queued for 20 clients) and
/// registration latency (a CRNP ADD_CLIENT over TCP) at p50/p99.
/// </summary>
internal static class ReplicationBenchmark
{
    private const int FanOut = 20;

    public static Command Command()
    {
        var events = new Option<int>("--events") { Description = "publishes per setting", DefaultValueFactory = _ => 2000 };
        var registrations = new Option<int>("--registrations") { Description = "registrations per setting", DefaultValueFactory = _ => 500 };
        var concurrency = new Option<int>("--concurrency") { Description = "concurrent publishers / registrants", DefaultValueFactory = _ => 4 };
        var command = new Command("replication", "publish and registration latency with MinReplicas 0 and 1 through Sentinel (issue 16)") { events, registrations, concurrency };
        command.SetAction((r, token) => RunAsync(r.GetValue(events), r.GetValue(registrations), r.GetValue(concurrency), token));
        return command;
    }

    private static async Task<int> RunAsync(int eventCount, int registrationCount, int concurrency, CancellationToken cancellationToken)
    {
        await using var sentinel = await RedisSentinel.StartAsync();
        Console.WriteLine($"replication: Sentinel topology (master + 2 replicas + 3 Sentinels), {eventCount} publishes (each queued for {FanOut} clients) and {registrationCount} registrations per setting, concurrency {concurrency}");
        foreach (var minReplicas in new[] { 0, 1, 0, 1 })
        {
            await MeasureAsync(sentinel, minReplicas, eventCount, registrationCount, concurrency, cancellationToken);
        }
        return 0;
    }

    private static async Task MeasureAsync(RedisSentinel sentinel, int minReplicas, int eventCount, int registrationCount, int concurrency, CancellationToken cancellationToken)
    {
        var env = new Dictionary<string, string>
        {
            ["Crnp__Store__Redis"] = sentinel.ConnectionString,
            ["Crnp__Store__KeyPrefix"] = RedisStores.UniquePrefix(),
            ["Crnp__Store__MinReplicas"] = minReplicas.ToString(CultureInfo.InvariantCulture),
            ["Crnp__Edge__Port"] = "0",
            ["Crnp__Ingest__Port"] = "0",
            ["Crnp__Edge__MaxClients"] = "100000",
        };
        await using var edge = ServiceProcess.Start("CrnpCloud.Edge", env);
        await using var ingest = ServiceProcess.Start("CrnpCloud.Ingest", env);
        var edgeEndPoint = new IPEndPoint(IPAddress.Loopback, await edge.PortOfAsync("crnp"));
        using var channel = GrpcChannel.ForAddress($"http://127.0.0.1:{await ingest.PortOfAsync("grpc")}");
        var client = new EventIngest.EventIngestClient(channel);
        var type = EquatableList.Of(new EventRegistration("EC_Cluster", "ESC_cluster_membership"));
        for (var c = 0; c < FanOut; c++)
        {
            await CrnpTestClient.RegisterAsync(edgeEndPoint, new CallbackRegistration(RegistrationType.AddClient, 10_000 + c, type));
        }

        var registrations = await TimeAsync(registrationCount, concurrency, async i =>
        {
            var reply = await CrnpTestClient.RegisterAsync(edgeEndPoint, new CallbackRegistration(RegistrationType.AddClient, 20_000 + i, type));
            if (reply.Status != StatusCode.Ok)
            {
                throw new InvalidOperationException($"registration answered {reply.Status} {reply.Message}");
            }
        });
        // The registrants above match too: each event is queued for FanOut + registrationCount clients; remove them first.
        for (var i = 0; i < registrationCount; i++)
        {
            await CrnpTestClient.RegisterAsync(edgeEndPoint, new CallbackRegistration(RegistrationType.RemoveClient, 20_000 + i));
        }
        var publishes = await TimeAsync(eventCount, concurrency, async i =>
        {
            var request = new PublishRequest { Event = new Event { Class = "EC_Cluster", Subclass = "ESC_cluster_membership" } };
            request.Event.Nvpairs.Add(new Ingest.V1.NameValue { Name = "state_list", Values = { i.ToString(CultureInfo.InvariantCulture) } });
            var reply = await client.PublishAsync(request, cancellationToken: cancellationToken);
            if (reply.QueuedClients != FanOut)
            {
                throw new InvalidOperationException($"event queued for {reply.QueuedClients} clients, expected {FanOut}");
            }
        });
        Console.WriteLine($"MinReplicas={minReplicas}: publish {Percentiles.Summary(publishes)}");
        Console.WriteLine($"MinReplicas={minReplicas}: registration {Percentiles.Summary(registrations)}");
    }

    private static async Task<List<double>> TimeAsync(int count, int concurrency, Func<int, Task> operation)
    {
        var next = -1;
        var latencies = new List<double>[concurrency];
        await Task.WhenAll(Enumerable.Range(0, concurrency).Select(w => Task.Run(async () =>
        {
            var mine = latencies[w] = [];
            for (var i = Interlocked.Increment(ref next); i < count; i = Interlocked.Increment(ref next))
            {
                var started = Stopwatch.GetTimestamp();
                await operation(i);
                mine.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            }
        })));
        return [.. latencies.SelectMany(l => l)];
    }
}
