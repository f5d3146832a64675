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
        var fsync = new Option<string>("--fsync") { Description = "redis-server appendfsync: everysec (the chart's) or always (each OK on disk)", DefaultValueFactory = _ => "everysec" };
        fsync.AcceptOnlyFromAmong("everysec", "always");
        var floor = new Option<bool>("--floor") { Description = "then run the same load against a minimal reply server (the floor)", DefaultValueFactory = _ => true };
        var command = new Command("registrations", "registration reply latency at a steady rate (issue 3, scenario 4)") { rate, seconds, clients, store, fsync, floor };
        command.SetAction((result, token) => RunAsync(result.GetValue(rate), result.GetValue(seconds), result.GetValue(clients), result.GetValue(store)!, result.GetValue(fsync)!, result.GetValue(floor), token));
        return command;
    }

    private static async Task<int> RunAsync(int rate, int seconds, int clientCount, string storeKind, string fsync, bool floor, CancellationToken cancellationToken)
    {
        await using var redis = storeKind == "redis" ? await RedisServer.StartAsync(fsync) : null;
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
        await AnswersAsync(server, documents[0], "the edge answers");

        Console.WriteLine($"registrations: {rate}/s for {seconds} s, {clientCount} clients, store={storeKind}{(redis is null ? "" : $" (appendfsync {fsync})")}, edge pid {edge.Pid}");
        var cpuBefore = edge.Usage().CpuSeconds;
        var run = await DriveAsync(server, documents, rate, seconds, cancellationToken);
        var (cpuAfter, peakRss) = edge.Usage();
        Console.WriteLine($"achieved: {run.Total / run.Wall:F0} registrations/s over {run.Wall:F1} s; OK {run.Latencies.Count}, other {string.Join(", ", run.Failures.Select(f => $"{f.Key} {f.Value}"))}");
        Console.WriteLine($"reply latency (connect -> reply read to EOF): {Percentiles.Summary(run.Latencies)}");
        Console.WriteLine($"generator lateness (send started after its slot): {Percentiles.Summary(run.Lateness)}");
        Console.WriteLine($"edge process: CPU {(cpuAfter - cpuBefore) / run.Wall * 100:F1}% of one core, peak RSS {peakRss:F0} MiB");
        var failures = run.Failures;
        await edge.DisposeAsync();

        if (floor)
        {
            // The floor: the same generator, documents and rate against a process that does nothing
            // but accept, read the document to its end tag, write a fixed SC_REPLY and close.
            var floorPort = RedisServer.FreePort();
            await using var replier = ServiceProcess.StartDll("reply-floor", typeof(RegistrationBenchmark).Assembly.Location,
                ["reply-floor", "--port", floorPort.ToString(CultureInfo.InvariantCulture)], new Dictionary<string, string>());
            var floorServer = new IPEndPoint(IPAddress.Loopback, floorPort);
            await AnswersAsync(floorServer, documents[0], "the floor server answers");
            var floorCpuBefore = replier.Usage().CpuSeconds;
            var baseline = await DriveAsync(floorServer, documents, rate, seconds, cancellationToken);
            var floorCpu = replier.Usage().CpuSeconds - floorCpuBefore;
            Console.WriteLine($"floor (accept, read to the end tag, fixed reply, close; same generator): {Percentiles.Summary(baseline.Latencies)}; other {baseline.Failures.Values.Sum()}");
            Console.WriteLine($"floor generator lateness: {Percentiles.Summary(baseline.Lateness)}; floor process CPU {floorCpu / baseline.Wall * 100:F1}% of one core");
        }
        return failures.Count == 0 ? 0 : 1;
    }
    private static Task AnswersAsync(IPEndPoint server, byte[] document, string what) => Eventually.TrueAsync(async () =>
    {
        try
        {
            return (await CrnpTestClient.SendAsync(server, document)).Status == StatusCode.Ok;
        }
        catch (System.Net.Sockets.SocketException)
        {
            return false;
        }
    }, what);

    private sealed record Run(List<double> Latencies, List<double> Lateness, Dictionary<string, int> Failures, int Total, double Wall);

    // Open loop: each send starts at its slot (i / rate) whether or not earlier ones were answered.
    private static async Task<Run> DriveAsync(IPEndPoint server, byte[][] documents, int rate, int seconds, CancellationToken cancellationToken)
    {
        var total = rate * seconds;
        var latencies = new List<double>(total);
        var lateness = new List<double>(total);
        var failures = new Dictionary<string, int>();
        var inFlight = new List<Task>(total);
        var gate = new Lock();
        var clock = Stopwatch.StartNew();
        for (var i = 0; i < total; i++)
        {
            var due = TimeSpan.FromSeconds((double)i / rate);
            var wait = due - clock.Elapsed;
            if (wait > TimeSpan.Zero)
            {
                await Task.Delay(wait, cancellationToken);
            }
            var late = (clock.Elapsed - due).TotalMilliseconds;
            var document = documents[i % documents.Length];
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
        return new Run(latencies, lateness, failures, total, clock.Elapsed.TotalSeconds);
    }

    /// <summary>The floor's server, run as its own process: <c>reply-floor --port N</c>.</summary>
    public static Command FloorServerCommand()
    {
        var port = new Option<int>("--port") { Required = true };
        var command = new Command("reply-floor", "internal: the registration floor's minimal reply server") { port };
        command.Hidden = true;
        command.SetAction((result, token) => ServeFloorAsync(result.GetValue(port), token));
        return command;
    }

    private static async Task<int> ServeFloorAsync(int port, CancellationToken cancellationToken)
    {
        var reply = CrnpWriter.ToBytes(new CrnpReply(StatusCode.Ok, "floor"));
        var end = "</SC_CALLBACK_REG>"u8.ToArray();
        using var listener = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.InterNetwork, System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, port));
        listener.Listen(512);
        while (!cancellationToken.IsCancellationRequested)
        {
            var connection = await listener.AcceptAsync(cancellationToken);
            _ = Task.Run(async () =>
            {
                using (connection)
                {
                    try
                    {
                        var buffer = new byte[8192];
                        var length = 0;
                        while (length < buffer.Length)
                        {
                            var read = await connection.ReceiveAsync(buffer.AsMemory(length), cancellationToken);
                            if (read == 0)
                            {
                                break;
                            }
                            length += read;
                            if (buffer.AsSpan(0, length).IndexOf(end) >= 0)
                            {
                                break;
                            }
                        }
                        await connection.SendAsync(reply, cancellationToken);
                        connection.Shutdown(System.Net.Sockets.SocketShutdown.Both);
                    }
                    catch (Exception ex) when (ex is System.Net.Sockets.SocketException or OperationCanceledException)
                    {
                    }
                }
            }, CancellationToken.None);
        }
        return 0;
    }
}
