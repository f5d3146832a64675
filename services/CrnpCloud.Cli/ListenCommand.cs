using System.CommandLine;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using CrnpCloud.Client;
using CrnpCloud.Protocol;

namespace CrnpCloud.Cli;

/// <summary>
/// <c>crnpctl listen</c>: a real CRNP client. It listens first, then registers its port and event
/// types (PROTOCOL.md section 4: the first event may arrive before the reply), prints every SC_EVENT delivered
/// to it, and sends REMOVE_CLIENT on Ctrl-C.
/// </summary>
internal static class ListenCommand
{
    private static readonly TimeSpan ReadTimeout = TimeSpan.FromSeconds(30);

    public static Command Create()
    {
        var server = Options.Server();
        var port = new Option<int>("--port") { Description = "port to receive events on; 0 picks a free one", DefaultValueFactory = _ => 0 };
        var bind = new Option<string>("--bind") { Description = "address to listen on", DefaultValueFactory = _ => "::" };
        var events = new Option<string[]>("--events", "-e")
        {
            Description = "event type CLASS[/SUBCLASS][?name=value,name=v1|v2]; repeat for several",
            Required = true,
            AllowMultipleArgumentsPerToken = true,
        };
        var json = Options.Json();
        var command = new Command("listen", "register as a CRNP client and print each event delivered to it") { server, port, bind, events, json };
        command.SetAction((result, token) => Cli.RunAsync(() =>
        {
            var types = ParseTypes(result.GetValue(events)!);
            if (!IPAddress.TryParse(result.GetValue(bind), out var address))
            {
                throw new CliException(ExitCodes.Refused, $"--bind: '{result.GetValue(bind)}' is not an IP address");
            }
            return RunAsync(Options.ServerEndpoint(result, server), new IPEndPoint(address, result.GetValue(port)), types, result.GetValue(json), token);
        }));
        return command;
    }

    private static EventRegistration[] ParseTypes(string[] texts) =>
        [.. texts.Select(t => EventSpec.TryParse(t, out var type, out var error) ? type : throw new CliException(ExitCodes.Refused, "--events: " + error))];

    private static async Task<int> RunAsync(Endpoint server, IPEndPoint bind, EventRegistration[] types, bool json, CancellationToken stop)
    {
        CrnpEventListener listener;
        try
        {
            listener = new CrnpEventListener(bind, new CrnpListenerOptions { ReadTimeout = ReadTimeout });
        }
        catch (SocketException ex)
        {
            throw new CliException(ExitCodes.Failure, $"cannot listen on {bind}: {ex.Message}");
        }
        await using var receiving = listener;
        var local = listener.LocalEndPoint;
        await Console.Error.WriteLineAsync($"listening on {local}; registering {string.Join(" ", types.Select(EventSpec.Format))} with {server}");

        // One event per connection, read to the close of its root element, in the order the server sends them.
        var count = 0;
        listener.Start(async delivery =>
        {
            if (delivery.Event is { } evt)
            {
                count++;
                await Console.Out.WriteLineAsync(json ? ToJson(evt, DateTimeOffset.UtcNow) : ToText(count, evt, DateTimeOffset.UtcNow));
                await Console.Out.FlushAsync();
            }
            else if (delivery.Failure is { } failure)
            {
                await Console.Error.WriteLineAsync($"a delivery connection failed: {failure.Message}");
            }
            else if (!delivery.PeerSentNothing)
            {
                await Console.Error.WriteLineAsync($"ignored a message from {delivery.From}: {delivery.Error?.Message}");
            }
        });
        var reply = await CrnpSession.SendAsync(server, new CallbackRegistration(RegistrationType.AddClient, local.Port, types), Options.Timeout, stop);
        if (reply.Status != StatusCode.Ok)
        {
            throw new CliException(ExitCodes.Refused, $"registration refused: {reply.Status.ToWire()}: {reply.Message}");
        }
        await Console.Error.WriteLineAsync($"registered (port {local.Port}): {reply.Message}; Ctrl-C unregisters and exits");

        try
        {
            await Task.Delay(Timeout.Infinite, stop);
        }
        catch (OperationCanceledException)
        {
            // Ctrl-C or SIGTERM: unregister below.
        }

        try
        {
            var removed = await CrnpSession.SendAsync(server, new CallbackRegistration(RegistrationType.RemoveClient, local.Port), Options.Timeout, CancellationToken.None);
            await Console.Error.WriteLineAsync($"unregistered: {removed.Status.ToWire()}: {removed.Message}");
            return ExitCodes.Ok;
        }
        catch (CliException ex)
        {
            await Console.Error.WriteLineAsync($"could not unregister: {ex.Message}");
            return ex.ExitCode;
        }
    }

    public static string ToText(int number, CrnpEvent evt, DateTimeOffset at) =>
        $"#{number} {at:HH:mm:ss.fff} {evt.Class}/{evt.Subclass} ({evt.Vendor}, {evt.Publisher})"
        + string.Concat(evt.NameValues.Select(p => $" {p.Name}={string.Join(",", p.Values)}"));

    public static string ToJson(CrnpEvent evt, DateTimeOffset at)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteString("received", at);
            writer.WriteString("class", evt.Class);
            writer.WriteString("subclass", evt.Subclass);
            writer.WriteString("vendor", evt.Vendor);
            writer.WriteString("publisher", evt.Publisher);
            writer.WriteStartArray("nvpairs");
            foreach (var pair in evt.NameValues)
            {
                writer.WriteStartObject();
                writer.WriteString("name", pair.Name);
                writer.WriteStartArray("values");
                foreach (var value in pair.Values)
                {
                    writer.WriteStringValue(value);
                }
                writer.WriteEndArray();
                writer.WriteEndObject();
            }
            writer.WriteEndArray();
            writer.WriteEndObject();
        }
        return System.Text.Encoding.UTF8.GetString(buffer.ToArray());
    }
}
