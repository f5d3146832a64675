using System.Globalization;
using CrnpCloud.Ingest.V1;
using CrnpCloud.Protocol;
using CrnpCloud.Testing;
using Grpc.Core;
using Grpc.Net.Client;
using Xunit.Abstractions;

namespace CrnpCloud.EndToEnd.Tests;

/// <summary>
/// Faults under continuous publishing to 50 clients, on real processes and a real redis-server with
/// an fsync per write: kill -9 of delivery workers, edge restart, ingest restart, redis-server kill -9
/// and restart. Afterwards a ledger check: every acknowledged publish reached every client, no client
/// ever went backwards, every registration is still there; duplicates are counted and printed.
/// </summary>
public sealed class ChaosTests(ITestOutputHelper output)
{
    private const int Clients = 50;

    [Fact]
    public async Task KillsAndRestarts_UnderLoad_LoseNoAcknowledgedEvent_AndNeverGoBackwards()
    {
        await using var redis = await RedisServer.StartAsync("always");
        var prefix = RedisStores.UniquePrefix();
        var env = new Dictionary<string, string>
        {
            ["Crnp__Store__Redis"] = redis.ConnectionString,
            ["Crnp__Store__KeyPrefix"] = prefix,
            ["Crnp__Edge__Port"] = "0",
            ["Crnp__Ingest__Port"] = "0",
            ["Crnp__Delivery__LeaseTtl"] = "00:00:02",
            ["Crnp__Delivery__RescanInterval"] = "00:00:01",
            ["Crnp__Delivery__RetryCount"] = "1000",
            ["Crnp__Delivery__RetryInterval"] = "00:00:00.200",
            ["Crnp__Delivery__ClientTimeout"] = "00:00:02",
        };
        var processes = new List<ServiceProcess>();
        ServiceProcess Start(string project)
        {
            var p = ServiceProcess.Start(project, env);
            lock (processes)
            {
                processes.Add(p);
            }
            return p;
        }
        async Task Stop(ServiceProcess p, bool kill = false)
        {
            if (kill)
            {
                p.Kill();
            }
            await p.DisposeAsync(); // SIGTERM for a live one: drains and exits
            lock (processes)
            {
                processes.Remove(p);
            }
        }

        var listeners = Enumerable.Range(0, Clients).Select(_ => CrnpTestListener.Start()).ToList();
        try
        {
            var edge = Start("CrnpCloud.Edge");
            var ingest = Start("CrnpCloud.Ingest");
            var workerA = Start("CrnpCloud.Delivery");
            var workerB = Start("CrnpCloud.Delivery");
            var edgeEndpoint = new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, await edge.PortOfAsync("crnp"));
            foreach (var listener in listeners)
            {
                var reply = await CrnpTestClient.RegisterAsync(edgeEndpoint, new CallbackRegistration(RegistrationType.AddClient, listener.Address.Port,
                    EquatableList.Of(new EventRegistration("EC_Cluster", "ESC_cluster_membership"))));
                Assert.Equal(Protocol.StatusCode.Ok, reply.Status);
            }

            // One publisher, one event at a time: an event is acknowledged when the ingest answered
            // OK; an unanswered one is retried under the same idempotency key, so it is stored once.
            var ingestPort = await ingest.PortOfAsync("grpc");
            var acknowledged = new List<int>();
            using var stop = new CancellationTokenSource();
            var publisher = Task.Run(async () =>
            {
                var n = 0;
                GrpcChannel? channel = null;
                var channelPort = 0;
                while (!stop.IsCancellationRequested)
                {
                    var port = Volatile.Read(ref ingestPort);
                    if (channel is null || channelPort != port)
                    {
                        channel?.Dispose();
                        channel = GrpcChannel.ForAddress($"http://127.0.0.1:{port}");
                        channelPort = port;
                    }
                    var request = new PublishRequest
                    {
                        Event = new Event { Class = "EC_Cluster", Subclass = "ESC_cluster_membership" },
                        IdempotencyKey = "chaos-" + n.ToString(CultureInfo.InvariantCulture),
                    };
                    request.Event.Nvpairs.Add(new Ingest.V1.NameValue { Name = "node_list", Values = { "n1", "n2" } });
                    request.Event.Nvpairs.Add(new Ingest.V1.NameValue { Name = "state_list", Values = { n.ToString(CultureInfo.InvariantCulture), "-1" } });
                    try
                    {
                        await new EventIngest.EventIngestClient(channel).PublishAsync(request, deadline: DateTime.UtcNow.AddSeconds(3));
                        lock (acknowledged)
                        {
                            acknowledged.Add(n);
                        }
                        n++;
                        await Task.Delay(20);
                    }
                    catch (RpcException)
                    {
                        await Task.Delay(100); // ingest or Redis away: the same event again
                    }
                }
                channel?.Dispose();
            });

            int Acked()
            {
                lock (acknowledged)
                {
                    return acknowledged.Count;
                }
            }
            async Task Progress(string after)
            {
                var target = Acked() + 40;
                await Eventually.TrueAsync(() => Task.FromResult(Acked() >= target), $"40 more events are acknowledged after {after}", TimeSpan.FromSeconds(60));
            }

            await Progress("start");
            await Stop(workerA, kill: true);
            Start("CrnpCloud.Delivery");
            await Progress("kill -9 of a worker");

            await Stop(edge);
            edge = Start("CrnpCloud.Edge");
            edgeEndpoint = new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, await edge.PortOfAsync("crnp"));
            await Progress("an edge restart");

            await Stop(ingest);
            ingest = Start("CrnpCloud.Ingest");
            Volatile.Write(ref ingestPort, await ingest.PortOfAsync("grpc"));
            await Progress("an ingest restart");

            await redis.KillAsync(); // kill -9: only what fsync wrote survives
            await Task.Delay(500);
            await redis.StartAsync(CancellationToken.None);
            await Progress("redis-server kill -9 and restart");

            await Stop(workerB, kill: true);
            Start("CrnpCloud.Delivery");
            await Progress("kill -9 of the other worker");

            await stop.CancelAsync();
            await publisher;
            int[] acked;
            lock (acknowledged)
            {
                acked = [.. acknowledged];
            }

            // Recovery: every client gets every acknowledged event.
            foreach (var listener in listeners)
            {
                await Eventually.TrueAsync(() => Task.FromResult(acked.All(new HashSet<int>(Numbers(listener)).Contains)),
                    $"{listener.Address} has every acknowledged event", TimeSpan.FromSeconds(60));
            }

            long duplicates = 0;
            foreach (var listener in listeners)
            {
                var numbers = Numbers(listener);
                var seen = new HashSet<int>();
                var max = -1;
                foreach (var number in numbers)
                {
                    if (!seen.Add(number))
                    {
                        duplicates++;
                        Assert.True(number <= max, $"{listener.Address}: a repeat of {number} after {max}");
                        continue;
                    }
                    Assert.True(number > max, $"{listener.Address}: {number} arrived after {max} (backwards)");
                    max = number;
                }
            }
            output.WriteLine($"{acked.Length} acknowledged events x {Clients} clients; duplicates {duplicates}; {listeners.Sum(l => l.Malformed)} malformed");

            // Every registration survived the restarts: the new edge knows each client (ADD_EVENTS is FAIL for an unknown one).
            foreach (var listener in listeners)
            {
                var again = await CrnpTestClient.RegisterAsync(edgeEndpoint, new CallbackRegistration(RegistrationType.AddEvents, listener.Address.Port,
                    EquatableList.Of(new EventRegistration("EC_Cluster", "ESC_cluster_membership"))));
                Assert.Equal(Protocol.StatusCode.Ok, again.Status);
            }
            foreach (var p in processes)
            {
                Assert.DoesNotContain(p.Errors.Concat(p.Output), l => l.Contains("Unhandled exception", StringComparison.OrdinalIgnoreCase));
            }
        }
        finally
        {
            foreach (var p in processes)
            {
                await p.DisposeAsync();
            }
            foreach (var listener in listeners)
            {
                await listener.DisposeAsync();
            }
        }
    }

    private static List<int> Numbers(CrnpTestListener listener) =>
        [.. listener.Events.Select(e => int.Parse(e.NameValues.Single(p => p.Name == "state_list").Values[0], CultureInfo.InvariantCulture))];
}
