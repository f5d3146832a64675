using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using CrnpCloud.Core;
using CrnpCloud.Ingest.V1;
using CrnpCloud.Protocol;
using CrnpCloud.Testing;
using Grpc.Core;
using Grpc.Net.Client;

namespace CrnpCloud.Benchmarks;

/// <summary>
/// Publish throughput and latency: the ingest as its own process on its own redis-server, with
/// registered clients whose types make each event fan out to a chosen number of queues.
/// </summary>
internal static class PublishBenchmark
{
    // Requests a stream keeps in flight; latency is measured per request, not queueing behind an unbounded pipeline.
    private const int Window = 16;

    public static Command Command()
    {
        var clients = new Option<int>("--clients") { Description = "registered clients", DefaultValueFactory = _ => 1000 };
        var fanOut = new Option<int>("--fanout") { Description = "clients each event is queued for", DefaultValueFactory = _ => 20 };
        var events = new Option<int>("--events") { Description = "events per phase (unary, then streaming)", DefaultValueFactory = _ => 5000 };
        var concurrency = new Option<int>("--concurrency") { Description = "concurrent unary publishers / streams", DefaultValueFactory = _ => 8 };
        var command = new Command("publish", "publish throughput and latency through the gRPC ingest (issue 4)") { clients, fanOut, events, concurrency };
        command.SetAction((r, token) => RunAsync(r.GetValue(clients), r.GetValue(fanOut), r.GetValue(events), r.GetValue(concurrency), token));
        return command;
    }

    private static async Task<int> RunAsync(int clientCount, int fanOut, int eventCount, int concurrency, CancellationToken cancellationToken)
    {
        if (fanOut < 1 || fanOut > clientCount)
        {
            Console.Error.WriteLine("--fanout must be between 1 and --clients");
            return 2;
        }
        await using var redis = await RedisServer.StartAsync();
        using var connection = await RedisStores.ConnectAsync(redis);
        var store = RedisStores.Create(connection, "crnp:");
        var groups = clientCount / fanOut;
        for (var c = 0; c < clientCount; c++)
        {
            var type = new EventRegistration("EC_Cluster", "ESC_cluster_rg_state", new Protocol.NameValue("rg_name", "rg" + (c % groups)));
            await store.ApplyAsync(new RegistrationChange(RegistrationType.AddClient, new CallbackAddress(IPAddress.Loopback, 20_000 + c), EquatableList.Of(type), new RegistrationLimits(clientCount, 10)), cancellationToken);
        }

        var port = RedisServer.FreePort();
        await using var ingest = ServiceProcess.Start("CrnpCloud.Ingest", new Dictionary<string, string>
        {
            ["Crnp__Ingest__Port"] = port.ToString(CultureInfo.InvariantCulture),
            ["Crnp__Store__Redis"] = redis.ConnectionString,
            ["Crnp__Store__KeyPrefix"] = "crnp:",
        });
        using var channel = GrpcChannel.ForAddress($"http://127.0.0.1:{port}");
        var client = new EventIngest.EventIngestClient(channel);
        await Eventually.TrueAsync(async () =>
        {
            try
            {
                await client.PublishAsync(Request(0, groups), cancellationToken: cancellationToken);
                return true;
            }
            catch (RpcException)
            {
                return false;
            }
        }, "the ingest answers");

        Console.WriteLine($"publish: {clientCount} clients, each event queued for {fanOut}, {eventCount} events per phase, concurrency {concurrency} (streams keep {Window} in flight), ingest pid {ingest.Pid}");
        await Phase("unary", eventCount, concurrency, ingest, async (worker, count, latencies) =>
        {
            for (var i = 0; i < count; i++)
            {
                var started = Stopwatch.GetTimestamp();
                var reply = await client.PublishAsync(Request(worker * count + i, groups), cancellationToken: cancellationToken);
                latencies.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
                Check(reply, fanOut);
            }
        });
        await Phase("stream", eventCount, concurrency, ingest, async (worker, count, latencies) =>
        {
            using var call = client.PublishStream(cancellationToken: cancellationToken);
            using var window = new SemaphoreSlim(Window);
            var sent = new Queue<long>();
            var gate = new Lock();
            var reading = Task.Run(async () =>
            {
                await foreach (var reply in call.ResponseStream.ReadAllAsync(cancellationToken))
                {
                    long started;
                    lock (gate)
                    {
                        started = sent.Dequeue();
                    }
                    latencies.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
                    window.Release();
                    Check(reply, fanOut);
                }
            }, cancellationToken);
            for (var i = 0; i < count; i++)
            {
                await window.WaitAsync(cancellationToken);
                lock (gate)
                {
                    sent.Enqueue(Stopwatch.GetTimestamp());
                }
                await call.RequestStream.WriteAsync(Request(worker * count + i, groups), cancellationToken);
            }
            await call.RequestStream.CompleteAsync();
            await reading;
        });
        using var admin = await StackExchange.Redis.ConnectionMultiplexer.ConnectAsync(redis.ConnectionString + ",allowAdmin=true");
        var info = await admin.GetServer(redis.ConnectionString).InfoAsync("memory");
        var used = info.SelectMany(g => g).First(p => p.Key == "used_memory").Value;
        Console.WriteLine($"redis used_memory after both phases: {long.Parse(used, CultureInfo.InvariantCulture) / 1048576.0:F0} MiB for {2 * eventCount * fanOut} queue entries");
        return 0;
    }

    private static async Task Phase(string name, int eventCount, int concurrency, ServiceProcess ingest, Func<int, int, List<double>, Task> worker)
    {
        var perWorker = eventCount / concurrency;
        var latencies = new List<double>[concurrency];
        var cpuBefore = ingest.Usage().CpuSeconds;
        var clock = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, concurrency).Select(w => Task.Run(() => worker(w, perWorker, latencies[w] = new List<double>(perWorker)))));
        var wall = clock.Elapsed.TotalSeconds;
        var all = latencies.SelectMany(l => l).ToList();
        var (cpuAfter, rss) = ingest.Usage();
        Console.WriteLine($"{name}: {all.Count / wall:F0} events/s; latency {Percentiles.Summary(all)}; ingest CPU {(cpuAfter - cpuBefore) / wall * 100:F0}% of one core, peak RSS {rss:F0} MiB");
    }

    private static void Check(PublishReply reply, int fanOut)
    {
        if (reply.QueuedClients != fanOut)
        {
            throw new InvalidOperationException($"event #{reply.Sequence} was queued for {reply.QueuedClients} clients, expected {fanOut}");
        }
    }

    private static PublishRequest Request(int i, int groups) => new()
    {
        Event = new Event
        {
            Class = "EC_Cluster",
            Subclass = "ESC_cluster_rg_state",
            Nvpairs =
            {
                new Ingest.V1.NameValue { Name = "rg_name", Values = { "rg" + (i % groups) } },
                new Ingest.V1.NameValue { Name = "node_list", Values = { "node1", "node2", "node3" } },
                new Ingest.V1.NameValue { Name = "state_list", Values = { "ONLINE", "OFFLINE", "OFFLINE" } },
            },
        },
    };
}
