using System.CommandLine;
using System.Globalization;
using CrnpCloud.Ingest.V1;
using Grpc.Core;

namespace CrnpCloud.Cli;

/// <summary><c>crnpctl events</c>, <c>deadletters</c> and <c>replay</c> (PROTOCOL.md section 11).</summary>
internal static partial class AdminCommands
{
    private static readonly TimeSpan FollowInterval = TimeSpan.FromMilliseconds(500);

    private static Command Events()
    {
        var (ingest, token, json) = (Options.Ingest(), Options.Token(), Options.Json());
        var since = new Option<long?>("--since") { Description = "the events after this sequence (default: the last --last events)" };
        var last = new Option<int>("--last") { Description = "without --since, how many of the newest events", DefaultValueFactory = _ => 20 };
        var follow = new Option<bool>("--follow", "-f") { Description = "keep printing new events until Ctrl-C" };
        var command = new Command("events", "list the global event log: sequence, time, class/subclass, nvpairs") { ingest, token, json, since, last, follow };
        command.SetAction((result, cancel) => CallAsync(result, ingest, token, async (admin, headers) =>
        {
            var asJson = result.GetValue(json);
            var request = result.GetValue(since) is { } after ? new ListEventsRequest { After = after, Max = 1000 } : new ListEventsRequest { Max = Math.Clamp(result.GetValue(last), 1, 1000) };
            long? cursor = request.HasAfter ? request.After : null;
            var following = result.GetValue(follow);
            try
            {
                while (true)
                {
                    var page = await admin.ListEventsAsync(request, headers, Deadline(), cancel);
                    if (cursor is { } c && page.OldestSequence > c + 1)
                    {
                        await Console.Error.WriteLineAsync($"crnpctl: events #{c + 1} to #{page.OldestSequence - 1} are no longer in the log (it starts at #{page.OldestSequence})");
                    }
                    foreach (var e in page.Events)
                    {
                        Console.WriteLine(asJson ? Json.Format(e) : Line(e));
                    }
                    cursor = page.Events.Count > 0 ? page.Events[^1].Sequence : cursor ?? page.NewestSequence;
                    var caughtUp = page.Events.Count == 0 || cursor >= page.NewestSequence;
                    if (caughtUp && !following)
                    {
                        return ExitCodes.Ok;
                    }
                    if (caughtUp)
                    {
                        await Task.Delay(FollowInterval, cancel);
                    }
                    request = new ListEventsRequest { After = cursor.Value, Max = 1000 };
                }
            }
            catch (Exception ex) when (following && cancel.IsCancellationRequested && ex is OperationCanceledException or RpcException { StatusCode: StatusCode.Cancelled })
            {
                return ExitCodes.Ok;
            }
        }));
        return command;
    }

    private static Command DeadLetters()
    {
        var (ingest, token, json) = (Options.Ingest(), Options.Token(), Options.Json());
        var address = new Argument<string>("address") { Description = "the client's callback address, ip:port ([v6]:port)" };
        var command = new Command("deadletters", "list what the delivery pool could not deliver to a client it removed") { address, ingest, token, json };
        command.SetAction((result, cancel) => CallAsync(result, ingest, token, async (admin, headers) =>
        {
            var reply = await admin.ListDeadLettersAsync(new ListDeadLettersRequest { Address = result.GetValue(address) }, headers, Deadline(), cancel);
            foreach (var letter in reply.DeadLetters)
            {
                Console.WriteLine(result.GetValue(json)
                    ? Json.Format(letter)
                    : $"{Line(letter.Event)}  (dead {Time(letter.DeadAt)}: {letter.Reason})");
            }
            if (!result.GetValue(json))
            {
                Console.WriteLine($"{reply.DeadLetters.Count} dead letter(s)");
            }
            return ExitCodes.Ok;
        }));
        return command;
    }

    private static Command Replay()
    {
        var (ingest, token) = (Options.Ingest(), Options.Token());
        var address = new Argument<string>("address") { Description = "the client's callback address, ip:port ([v6]:port)" };
        var from = new Option<long?>("--from") { Description = "queue again the client's matching events after this sequence" };
        var dead = new Option<bool>("--dead-letters") { Description = "queue again the client's dead letters, and clear them" };
        var command = new Command("replay", "queue events again for a registered client, in order, behind what it has queued") { address, ingest, token, from, dead };
        command.Validators.Add(r =>
        {
            if ((r.GetValue(from) is null) == !r.GetValue(dead))
            {
                r.AddError("replay needs exactly one of --from SEQ and --dead-letters");
            }
            else if (r.GetValue(from) is < 0)
            {
                r.AddError("--from: must be 0 or more");
            }
        });
        command.SetAction((result, cancel) => CallAsync(result, ingest, token, async (admin, headers) =>
        {
            var request = new ReplayRequest { Address = result.GetValue(address), DeadLetters = result.GetValue(dead), FromSequence = result.GetValue(from) ?? 0 };
            var reply = await admin.ReplayAsync(request, headers, Deadline(), cancel);
            Console.WriteLine(reply.Message);
            return ExitCodes.Ok;
        }));
        return command;
    }

    private static string Line(LoggedEvent e)
    {
        var pairs = string.Join(" ", e.Event.Nvpairs.Select(p => $"{p.Name}={string.Join(",", p.Values)}"));
        return string.Create(CultureInfo.InvariantCulture, $"#{e.Sequence,-8} {Time(e.PublishedAt)}  {e.Event.Class}/{e.Event.Subclass}  {pairs}");
    }
}
