using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using CrnpCloud.Ingest.V1;
using Grpc.Core;

namespace CrnpCloud.Cli;

/// <summary><c>crnpctl publish</c>: one event, or a paced load of numbered events over one stream.</summary>
internal static class PublishCommand
{
    public static Command Create()
    {
        var ingest = Options.Ingest();
        var token = Options.Token();
        var @class = new Option<string>("--class") { Description = "event class, e.g. EC_Cluster", Required = true };
        var subclass = new Option<string>("--subclass") { Description = "event subclass, e.g. ESC_cluster_membership", Required = true };
        var vendor = new Option<string>("--vendor") { Description = "vendor (default: the server's, SUNW)", DefaultValueFactory = _ => "" };
        var publisher = new Option<string>("--publisher") { Description = "publisher (default: the server's, rgm)", DefaultValueFactory = _ => "" };
        var nv = new Option<string[]>("--nv")
        {
            Description = "an nvpair name=value, or name=v1,v2 for an array; repeat for several",
            DefaultValueFactory = _ => [],
        };
        var key = new Option<string>("--idempotency-key") { Description = "publish at most once per key within the server's window", DefaultValueFactory = _ => "" };
        var count = new Option<int>("--count", "-n") { Description = "how many events (load mode when more than 1)", DefaultValueFactory = _ => 1 };
        var rate = new Option<double>("--rate", "-r") { Description = "events per second in load mode; 0 = as fast as the server takes them", DefaultValueFactory = _ => 0 };
        var seqName = new Option<string>("--seq-name") { Description = "in load mode, the nvpair that numbers the events 0..N-1", DefaultValueFactory = _ => "ev_seq" };
        var json = Options.Json();
        count.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<int>() < 1)
            {
                r.AddError("--count: at least 1");
            }
        });
        rate.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<double>() < 0)
            {
                r.AddError("--rate: 0 or more events per second");
            }
        });

        var command = new Command("publish", "publish a cluster event through the ingest (gRPC)")
        {
            ingest, token, @class, subclass, vendor, publisher, nv, key, count, rate, seqName, json,
        };
        command.SetAction((result, cancel) => Cli.RunAsync(async () =>
        {
            var endpoint = Options.EndpointOf(result, ingest, 9445);
            var evt = new Event
            {
                Class = result.GetValue(@class)!,
                Subclass = result.GetValue(subclass)!,
                Vendor = result.GetValue(vendor)!,
                Publisher = result.GetValue(publisher)!,
            };
            foreach (var text in result.GetValue(nv)!)
            {
                var equals = text.IndexOf('=', StringComparison.Ordinal);
                if (equals <= 0)
                {
                    throw new CliException(ExitCodes.Refused, $"--nv: '{text}' is not name=value");
                }
                var pair = new NameValue { Name = text[..equals] };
                pair.Values.AddRange(text[(equals + 1)..].Split(','));
                evt.Nvpairs.Add(pair);
            }
            using var channel = Options.Channel(endpoint);
            var client = new EventIngest.EventIngestClient(channel);
            var headers = Options.Headers(result.GetValue(token));
            try
            {
                var n = result.GetValue(count);
                return n == 1
                    ? await PublishOneAsync(client, headers, new PublishRequest { Event = evt, IdempotencyKey = result.GetValue(key) }, result.GetValue(json), cancel)
                    : await PublishManyAsync(client, headers, evt, n, result.GetValue(rate), result.GetValue(seqName)!, result.GetValue(json), cancel);
            }
            catch (RpcException ex)
            {
                throw Cli.Explain(ex, endpoint);
            }
        }));
        return command;
    }

    private static async Task<int> PublishOneAsync(EventIngest.EventIngestClient client, Metadata headers, PublishRequest request, bool json, CancellationToken cancel)
    {
        var reply = await client.PublishAsync(request, headers, DateTime.UtcNow + Options.Timeout, cancel);
        Console.WriteLine(json
            ? JsonSerializer.Serialize(new Dictionary<string, object> { ["event_id"] = reply.EventId, ["sequence"] = reply.Sequence, ["queued_clients"] = reply.QueuedClients, ["duplicate"] = reply.Duplicate })
            : reply.Duplicate
                ? $"duplicate of #{reply.Sequence} (event {reply.EventId}); nothing queued"
                : $"published #{reply.Sequence} (event {reply.EventId}), queued for {reply.QueuedClients} client(s)");
        return ExitCodes.Ok;
    }

    // One stream, events in order, paced to the rate; replies come back in request order.
    private static async Task<int> PublishManyAsync(EventIngest.EventIngestClient client, Metadata headers, Event template, int count, double rate, string seqName, bool json, CancellationToken cancel)
    {
        var sentAt = new long[count];
        var latencies = new double[count];
        var replies = 0;
        long firstSequence = 0, lastSequence = 0, queued = 0;
        using var call = client.PublishStream(headers, cancellationToken: cancel);
        var started = Stopwatch.GetTimestamp();

        var reading = Task.Run(async () =>
        {
            await foreach (var reply in call.ResponseStream.ReadAllAsync(cancel))
            {
                latencies[replies] = Stopwatch.GetElapsedTime(sentAt[replies]).TotalMilliseconds;
                firstSequence = replies == 0 ? reply.Sequence : firstSequence;
                lastSequence = reply.Sequence;
                queued += reply.QueuedClients;
                Interlocked.Increment(ref replies);
            }
        }, cancel);
        var progress = Progress.Start(count, () => Volatile.Read(ref replies), started);
        try
        {
            for (var i = 0; i < count && !reading.IsCompleted; i++)
            {
                if (rate > 0)
                {
                    var due = TimeSpan.FromSeconds(i / rate) - Stopwatch.GetElapsedTime(started);
                    if (due > TimeSpan.Zero)
                    {
                        await Task.Delay(due, cancel);
                    }
                }
                var evt = template.Clone();
                var number = new NameValue { Name = seqName };
                number.Values.Add(i.ToString(CultureInfo.InvariantCulture));
                evt.Nvpairs.Add(number);
                sentAt[i] = Stopwatch.GetTimestamp();
                await call.RequestStream.WriteAsync(new PublishRequest { Event = evt }, cancel);
            }
            await call.RequestStream.CompleteAsync();
            await reading;
        }
        finally
        {
            progress.Dispose();
        }

        var elapsed = Stopwatch.GetElapsedTime(started);
        var done = latencies.AsSpan(0, replies).ToArray();
        Array.Sort(done);
        double At(double q) => done.Length == 0 ? 0 : done[Math.Min(done.Length - 1, (int)Math.Ceiling(q * done.Length) - 1)];
        var perSecond = replies / Math.Max(elapsed.TotalSeconds, 1e-9);
        Console.WriteLine(json
            ? JsonSerializer.Serialize(new Dictionary<string, object>
            {
                ["published"] = replies,
                ["seconds"] = Math.Round(elapsed.TotalSeconds, 3),
                ["per_second"] = Math.Round(perSecond, 1),
                ["p50_ms"] = Math.Round(At(0.50), 3),
                ["p99_ms"] = Math.Round(At(0.99), 3),
                ["max_ms"] = Math.Round(At(1), 3),
                ["first_sequence"] = firstSequence,
                ["last_sequence"] = lastSequence,
                ["queued"] = queued,
            })
            : string.Create(CultureInfo.InvariantCulture,
                $"published {replies} events (#{firstSequence}..#{lastSequence}) in {elapsed.TotalSeconds:0.00} s: {perSecond:N0} events/s; "
                + $"publish latency p50 {At(0.50):0.00} ms, p99 {At(0.99):0.00} ms, max {At(1):0.00} ms; {queued} queue entries"));
        return replies == count ? ExitCodes.Ok : ExitCodes.Failure;
    }
}

/// <summary>A one-line progress bar on stderr, redrawn a few times a second, only on a terminal.</summary>
internal sealed class Progress : IDisposable
{
    private readonly Timer? _timer;
    private readonly int _total;
    private readonly Func<int> _done;
    private readonly long _started;

    private Progress(int total, Func<int> done, long started, bool show)
    {
        _total = total;
        _done = done;
        _started = started;
        _timer = show ? new Timer(_ => Draw(), null, TimeSpan.Zero, TimeSpan.FromMilliseconds(200)) : null;
    }

    public static Progress Start(int total, Func<int> done, long started) => new(total, done, started, !Console.IsErrorRedirected);

    private void Draw()
    {
        const int width = 30;
        var done = _done();
        var filled = (int)((long)done * width / _total);
        var rate = done / Math.Max(Stopwatch.GetElapsedTime(_started).TotalSeconds, 1e-9);
        Console.Error.Write(string.Create(CultureInfo.InvariantCulture, $"\r[{new string('#', filled)}{new string('.', width - filled)}] {done}/{_total} {rate,8:N0} ev/s"));
    }

    public void Dispose()
    {
        if (_timer is null)
        {
            return;
        }
        _timer.Dispose();
        Draw();
        Console.Error.WriteLine();
    }
}
