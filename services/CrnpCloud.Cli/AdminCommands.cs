using System.CommandLine;
using System.Globalization;
using System.Text;
using CrnpCloud.Ingest.V1;
using Google.Protobuf;
using Grpc.Core;

namespace CrnpCloud.Cli;

/// <summary><c>crnpctl clients</c>, <c>client</c> and <c>remove</c>, through the ingest's admin API.</summary>
internal static partial class AdminCommands
{
    private static readonly JsonFormatter Json = new(JsonFormatter.Settings.Default.WithFormatDefaultValues(true));

    public static IEnumerable<Command> Create()
    {
        yield return Clients();
        yield return Client();
        yield return Remove();
        yield return Events();
        yield return DeadLetters();
        yield return Replay();
    }

    private static Command Clients()
    {
        var (ingest, token, json) = (Options.Ingest(), Options.Token(), Options.Json());
        var removals = new Option<int>("--removals") { Description = "also show this many recent removals by the delivery pool", DefaultValueFactory = _ => 10 };
        var command = new Command("clients", "list registered clients with their delivery status") { ingest, token, json, removals };
        command.SetAction((result, cancel) => CallAsync(result, ingest, token, async (admin, headers) =>
        {
            var reply = await admin.ListClientsAsync(new ListClientsRequest { Removals = result.GetValue(removals) }, headers, Deadline(), cancel);
            if (result.GetValue(json))
            {
                Console.WriteLine(Json.Format(reply));
                return ExitCodes.Ok;
            }
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{"CLIENT",-28} {"TYPES",5} {"BACKLOG",7} {"FAILURES",8} {"LAST DELIVERY",-20} ORIGIN"));
            foreach (var c in reply.Clients)
            {
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{c.Address,-28} {c.Types_.Count,5} {c.Backlog,7} {c.ConsecutiveFailures,8} {Time(c.LastDelivery),-20} {c.Origin}"));
            }
            Console.WriteLine($"{reply.Clients.Count} client(s)");
            if (reply.RecentRemovals.Count > 0)
            {
                Console.WriteLine();
                Console.WriteLine("recently removed after failed deliveries:");
                foreach (var r in reply.RecentRemovals)
                {
                    Console.WriteLine($"  {Time(r.At)}  {r.Address}  {r.Reason}");
                }
            }
            return ExitCodes.Ok;
        }));
        return command;
    }

    private static Command Client()
    {
        var (ingest, token, json) = (Options.Ingest(), Options.Token(), Options.Json());
        var address = new Argument<string>("address") { Description = "the client's callback address, ip:port ([v6]:port)" };
        var command = new Command("client", "show one client: event types and delivery status") { address, ingest, token, json };
        command.SetAction((result, cancel) => CallAsync(result, ingest, token, async (admin, headers) =>
        {
            var c = await admin.GetClientAsync(new GetClientRequest { Address = result.GetValue(address) }, headers, Deadline(), cancel);
            if (result.GetValue(json))
            {
                Console.WriteLine(Json.Format(c));
                return ExitCodes.Ok;
            }
            var text = new StringBuilder();
            text.AppendLine(CultureInfo.InvariantCulture, $"client        {c.Address} ({c.Origin}, registered {Time(c.RegisteredAt)})");
            text.AppendLine(CultureInfo.InvariantCulture, $"backlog       {c.Backlog} event(s)");
            text.AppendLine(CultureInfo.InvariantCulture, $"last delivery {Time(c.LastDelivery)}");
            var lastFailure = c.LastFailure.Length > 0 ? $"; last {Time(c.LastFailureAt)}: {c.LastFailure}" : "";
            text.AppendLine(CultureInfo.InvariantCulture, $"failures      {c.ConsecutiveFailures} since the last delivery{lastFailure}");
            text.AppendLine("event types");
            foreach (var t in c.Types_)
            {
                var spec = t.Subclass.Length == 0 ? t.Class : $"{t.Class}/{t.Subclass}";
                var pairs = string.Join(",", t.Nvpairs.Select(p => $"{p.Name}={string.Join("|", p.Values)}"));
                text.AppendLine(CultureInfo.InvariantCulture, $"  {spec}{(pairs.Length > 0 ? "?" + pairs : "")}");
            }
            Console.Write(text);
            return ExitCodes.Ok;
        }));
        return command;
    }

    private static Command Remove()
    {
        var (ingest, token) = (Options.Ingest(), Options.Token());
        var address = new Argument<string>("address") { Description = "the client's callback address, ip:port ([v6]:port)" };
        var command = new Command("remove", "remove a client: registration, event types and queued events") { address, ingest, token };
        command.SetAction((result, cancel) => CallAsync(result, ingest, token, async (admin, headers) =>
        {
            var reply = await admin.RemoveClientAsync(new RemoveClientRequest { Address = result.GetValue(address) }, headers, Deadline(), cancel);
            Console.WriteLine(reply.Message);
            return ExitCodes.Ok;
        }));
        return command;
    }

    private static Task<int> CallAsync(ParseResult result, Option<string> ingest, Option<string?> token, Func<Admin.AdminClient, Metadata, Task<int>> call) =>
        Cli.RunAsync(async () =>
        {
            var endpoint = Options.EndpointOf(result, ingest, 9445);
            using var channel = Options.Channel(endpoint);
            try
            {
                return await call(new Admin.AdminClient(channel), Options.Headers(result.GetValue(token)));
            }
            catch (RpcException ex)
            {
                throw Cli.Explain(ex, endpoint);
            }
        });

    private static DateTime Deadline() => DateTime.UtcNow + Options.Timeout;

    private static string Time(Google.Protobuf.WellKnownTypes.Timestamp? at) =>
        at is null ? "never" : at.ToDateTimeOffset().ToString("yyyy-MM-dd HH:mm:ss'Z'", CultureInfo.InvariantCulture);
}
