using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using CrnpCloud.Core;
using CrnpCloud.Delivery;
using CrnpCloud.Protocol;
using CrnpCloud.Testing;

namespace CrnpCloud.Benchmarks;

/// <summary>
/// The TIME_WAIT / ephemeral-port limit that loopback hides. The delivery worker closes each CRNP
/// connection first, so every delivery leaves a TIME_WAIT socket (60 s on Linux) on the worker's side
/// for the 4-tuple (worker ip, ephemeral port, client ip, client port). One client can then take at
/// most (ports in ip_local_port_range) / 60 s deliveries per second from one source address, unless
/// the kernel may reuse a TIME_WAIT port (tcp_tw_reuse, which Linux enables for loopback only by
/// default). Each phase runs the delivery worker's own <see cref="EventSender"/> in a network
/// namespace, delivering one client's events in sequence (as per-client ordering does) across a veth
/// pair to a receiver on this host; the control phase does the same over loopback.
/// </summary>
internal static class PortsBenchmark
{
    private static readonly string[] AllPhases = ["loopback", "veth", "veth+port-range", "veth+tw-reuse"];

    public static Command Command()
    {
        var seconds = new Option<int>("--seconds") { Description = "how long each phase delivers", DefaultValueFactory = _ => 20 };
        var phases = new Option<string[]>("--phase") { Description = "phases to run (repeatable): " + string.Join(", ", AllPhases), AllowMultipleArgumentsPerToken = true };
        phases.AcceptOnlyFromAmong(AllPhases);
        var command = new Command("ports", "one client's sequential deliveries across a veth pair: the TIME_WAIT/ephemeral-port limit and its mitigations (issue 9)") { seconds, phases };
        command.SetAction((result, token) => RunAsync(result.GetValue(seconds), result.GetValue(phases) is { Length: > 0 } p ? p : AllPhases, token));
        return command;
    }

    public static Command SenderCommand()
    {
        var target = new Option<string>("--target") { Required = true };
        var seconds = new Option<int>("--seconds") { Required = true };
        var command = new Command("ports-sender", "internal: the ports study's sender") { target, seconds };
        command.Hidden = true;
        command.SetAction((result, token) => SendAsync(IPEndPoint.Parse(result.GetValue(target)!), result.GetValue(seconds), Console.Out, token));
        return command;
    }

    private static async Task<int> RunAsync(int seconds, string[] phases, CancellationToken cancellationToken)
    {
        Console.WriteLine($"ports: one client, sequential deliveries (connect, write, close) for {seconds} s per phase; host ip_local_port_range {File.ReadAllText("/proc/sys/net/ipv4/ip_local_port_range").Trim()}, tcp_tw_reuse {File.ReadAllText("/proc/sys/net/ipv4/tcp_tw_reuse").Trim()}, TIME_WAIT 60 s");
        foreach (var phase in phases)
        {
            if (phase == "loopback")
            {
                await using var receiver = CrnpTestListener.Start();
                var summary = new StringWriter(CultureInfo.InvariantCulture);
                await SendAsync(new IPEndPoint(IPAddress.Loopback, receiver.Address.Port), seconds, summary, cancellationToken);
                Report(phase, summary.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries), receiver.Received.Count);
                continue;
            }

            if (!NetHost.Supported(out var reason))
            {
                Console.WriteLine($"{phase}: {reason}");
                continue;
            }
            await using var net = NetHost.Create();
            if (phase == "veth+port-range")
            {
                net.Sysctl("net/ipv4/ip_local_port_range", "1024 65535");
            }
            else if (phase == "veth+tw-reuse")
            {
                net.Sysctl("net/ipv4/tcp_tw_reuse", "1");
            }
            await using (var receiver = CrnpTestListener.Start(IPAddress.Parse(net.HostAddress)))
            {
                await using var sender = ServiceProcess.StartDll("ports-sender", typeof(PortsBenchmark).Assembly.Location,
                    ["ports-sender", "--target", $"{net.HostAddress}:{receiver.Address.Port}", "--seconds", seconds.ToString(CultureInfo.InvariantCulture)],
                    new Dictionary<string, string>(), net.Launcher);
                var code = await sender.WaitForExitAsync(TimeSpan.FromSeconds(seconds + 60));
                if (code != 0)
                {
                    Console.WriteLine($"{phase}: the sender exited with {code}: {string.Join(" | ", sender.Errors.TakeLast(5))}");
                    continue;
                }
                Report(phase, [.. sender.Output], receiver.Received.Count);
            }
        }
        return 0;
    }

    private static void Report(string phase, IReadOnlyList<string> lines, int received)
    {
        var timeline = lines.Where(l => l.StartsWith("second ", StringComparison.Ordinal)).Select(l => l["second ".Length..]);
        Console.WriteLine($"{phase}: {lines.LastOrDefault(l => l.StartsWith("total ", StringComparison.Ordinal))}; receiver got {received}");
        Console.WriteLine($"  ok/failed per second: {string.Join(" ", timeline)}");
    }

    // One client's deliveries in sequence through the worker's own sender; a failure pauses 1 ms (the
    // worker would retry after its retry interval) so the count stays a count of attempts that matter.
    private static async Task<int> SendAsync(IPEndPoint target, int seconds, TextWriter output, CancellationToken cancellationToken)
    {
        var sender = new EventSender(TimeProvider.System);
        var client = new CallbackAddress(target.Address, target.Port);
        var document = CrnpWriter.ToBytes(new CrnpEvent("EC_Cluster", "ESC_cluster_membership", "SUNW", "rgm",
            new NameValue("node_list", "node1", "node2", "node3"), new NameValue("state_list", "1", "1", "1")));
        var errors = new Dictionary<string, int>();
        long ok = 0, failed = 0, secondOk = 0, secondFailed = 0;
        double? firstFailure = null;
        var clock = Stopwatch.StartNew();
        var nextSecond = 1;
        while (clock.Elapsed < TimeSpan.FromSeconds(seconds))
        {
            try
            {
                await sender.SendAsync(client, document, TimeSpan.FromSeconds(2), cancellationToken);
                ok++;
                secondOk++;
            }
            catch (DeliveryFailedException ex)
            {
                failed++;
                secondFailed++;
                firstFailure ??= clock.Elapsed.TotalSeconds;
                errors[ex.Message] = errors.GetValueOrDefault(ex.Message) + 1;
                await Task.Delay(1, cancellationToken);
            }
            if (clock.Elapsed >= TimeSpan.FromSeconds(nextSecond))
            {
                output.WriteLine($"second {secondOk}/{secondFailed}");
                secondOk = secondFailed = 0;
                nextSecond++;
            }
        }
        var wall = clock.Elapsed.TotalSeconds;
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"total ok {ok} ({ok / wall:F0}/s), failed {failed}{(firstFailure is { } f ? $" (first after {f:F1} s, {ok} ok before the end)" : "")}, errors [{string.Join(", ", errors.Select(e => $"{e.Key} {e.Value}"))}], TIME_WAIT sockets at the end {TimeWaitCount()}"));
        return 0;
    }

    // State 06 in /proc/net/tcp{,6} is TIME_WAIT; the file shows the reader's own network namespace.
    private static int TimeWaitCount() =>
        new[] { "/proc/net/tcp", "/proc/net/tcp6" }.Where(File.Exists)
            .SelectMany(path => File.ReadLines(path).Skip(1))
            .Count(line => line.Split(' ', StringSplitOptions.RemoveEmptyEntries) is { Length: > 3 } fields && fields[3] == "06");
}
