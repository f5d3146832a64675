using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using CrnpCloud.Protocol;
using CrnpCloud.Testing;
using Xunit.Abstractions;

namespace CrnpCloud.EndToEnd.Tests;

/// <summary>
/// A running edge process with its default settings (only the port is chosen) under attack: XXE,
/// billion laughs, a 100 MB document, slowloris, 10,000 idle connections, random bytes, invalid
/// UTF-8, deep nesting, a registration flood from one address. It must keep answering well-formed
/// peers, during the slowloris and idle floods too, stay under a stated memory bound, and log no
/// unhandled exception. The floods come from other loopback addresses than the well-formed peer
/// (127.0.0.1), as they would from another host.
/// </summary>
public sealed class HostileInputTests(ITestOutputHelper output)
{
    /// <summary>The edge's peak resident memory allowed through all of it.</summary>
    private const double RssBoundMiB = 512;

    /// <summary>The default <c>Crnp:Edge:ClientTimeout</c>.</summary>
    private static readonly TimeSpan ClientTimeout = TimeSpan.FromSeconds(60);

    /// <summary>How long a slowloris connection trickles before the test gives up on it.</summary>
    private static readonly TimeSpan SlowlorisFor = TimeSpan.FromSeconds(8);

    private static readonly IPAddress SlowlorisHost = IPAddress.Parse("127.0.0.4");

    private static readonly IPAddress IdleHost = IPAddress.Parse("127.0.0.2");

    [Fact]
    public async Task TheEdge_SurvivesHostileInput_AnswersWellFormedPeers_WithinAMemoryBound()
    {
        await using var edge = ServiceProcess.Start("CrnpCloud.Edge", new Dictionary<string, string>
        {
            ["Crnp__Edge__Port"] = "0",
            ["Logging__LogLevel__Default"] = "Warning",
        });
        var server = new IPEndPoint(IPAddress.Loopback, await edge.PortOfAsync("crnp"));
        var (_, rssAtStart) = edge.Usage();

        async Task WellFormedPeerIsServed(string after)
        {
            var clock = Stopwatch.StartNew();
            var reply = await CrnpTestClient.RegisterAsync(server, new CallbackRegistration(RegistrationType.AddClient, 18888,
                EquatableList.Of(new EventRegistration("EC_Cluster", "ESC_cluster_membership"))));
            Assert.True(reply.Status == StatusCode.Ok, $"after {after}: {reply.Status} {reply.Message}");
            output.WriteLine($"after {after}: a well-formed registration answered OK in {clock.ElapsedMilliseconds} ms; edge peak RSS {edge.Usage().PeakRssMiB:F0} MiB");
        }

        // XXE and billion laughs: refused from the DOCTYPE, nothing resolved or expanded.
        foreach (var (name, doc) in new[]
        {
            ("XXE", """<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><SC_CALLBACK_REG VERSION="1.0" PORT="1" REG_TYPE="ADD_CLIENT">&x;</SC_CALLBACK_REG>"""),
            ("billion laughs", "<?xml version=\"1.0\"?><!DOCTYPE l [<!ENTITY a \"aaaaaaaaaa\">" + string.Concat(Enumerable.Range(1, 9).Select(i => $"<!ENTITY {(char)('a' + i)} \"{string.Concat(Enumerable.Repeat($"&{(char)('a' + i - 1)};", 10))}\">")) + "]><SC_CALLBACK_REG VERSION=\"1.0\" PORT=\"1\" REG_TYPE=\"ADD_CLIENT\">&j;</SC_CALLBACK_REG>"),
        })
        {
            var reply = await CrnpTestClient.SendAsync(server, doc);
            Assert.NotEqual(StatusCode.Ok, reply.Status);
            output.WriteLine($"{name}: {reply.Status} {reply.Message}");
        }
        await WellFormedPeerIsServed("XXE and billion laughs");

        // 100 MB document: the edge stops reading at its 64 KiB limit and closes; we cannot push it all.
        var sent = await SendUntilClosedAsync(server, "<SC_CALLBACK_REG VERSION=\"1.0\" PORT=\"1\" REG_TYPE=\"ADD_CLIENT\"><SC_EVENT_REG CLASS=\"", 100L * 1024 * 1024);
        Assert.True(sent < 100L * 1024 * 1024, "the edge read a 100 MB document to the end");
        output.WriteLine($"100 MB document: the edge closed after {sent / 1024.0 / 1024:F1} MiB were written (kernel buffers included)");
        await WellFormedPeerIsServed("a 100 MB document");

        // Random bytes, invalid UTF-8, deep nesting: each gets an error reply or a close, never a crash.
        var random = new Random(20261123);
        var garbage = new List<byte[]>
        {
            Enumerable.Range(0, 64).Select(_ => (byte)random.Next(256)).ToArray(),
            Invalid("<SC_CALLBACK_REG VERSION=\"1.0\" PORT=\"1\" REG_TYPE=\"ADD_CLIENT\"><SC_EVENT_REG CLASS=\"", "\"/></SC_CALLBACK_REG>"),
            Invalid("<SC_CALLBACK_REG VERSION=\"1.0\" PORT=\"1\" REG_TYPE=\"ADD_CLIENT\">", "</SC_CALLBACK_REG>"),
            Encoding.UTF8.GetBytes(string.Concat(Enumerable.Repeat("<a>", 50_000))),
        };
        for (var i = 0; i < 200; i++)
        {
            garbage.Add(Enumerable.Range(0, random.Next(1, 4096)).Select(_ => (byte)random.Next(256)).ToArray());
        }
        foreach (var bytes in garbage)
        {
            var answer = await ExchangeOrCloseAsync(server, bytes);
            Assert.DoesNotContain("STATUS_CODE=\"OK\"", answer, StringComparison.Ordinal);
        }
        await WellFormedPeerIsServed("random bytes, invalid UTF-8 and 50,000 nested elements");

        // Slowloris: 300 connections from one host trickling a byte at a time (beyond the per-address
        // limit refused at once); a well-formed peer is served while they trickle, and none outlives
        // the client timeout.
        var slowloris = Task.WhenAll(Enumerable.Range(0, 300).Select(_ => SlowlorisAsync(server)));
        await Task.Delay(TimeSpan.FromSeconds(2));
        Assert.False(slowloris.IsCompleted, "the slowloris connections ended before the well-formed peer was tried");
        await WellFormedPeerIsServed("300 slowloris connections (while they trickle)");
        var slow = await slowloris;
        Assert.All(slow, cutAfter => Assert.True(cutAfter < ClientTimeout + TimeSpan.FromSeconds(5), $"a slow connection lived {cutAfter}"));
        await WellFormedPeerIsServed("300 slowloris connections");

        // 10,000 idle connections from one host, all open at once: a well-formed peer is served while they are.
        var idle = new List<Socket>();
        try
        {
            for (var i = 0; i < 10_000; i++)
            {
                idle.Add(await CrnpTestClient.ConnectAsync(server, IdleHost, CancellationToken.None));
            }
            output.WriteLine($"10,000 idle connections open; edge peak RSS {edge.Usage().PeakRssMiB:F0} MiB");
            for (var i = 0; i < 3; i++)
            {
                await WellFormedPeerIsServed("10,000 idle connections (while they are open)");
            }
        }
        finally
        {
            foreach (var socket in idle)
            {
                socket.Dispose();
            }
        }

        // A registration flood from one address: 3,000 clients at once; beyond MaxClients the answer is LOW_RESOURCE.
        var statuses = await Task.WhenAll(Enumerable.Range(0, 3000).Select(async i =>
        {
            try
            {
                return (await CrnpTestClient.RegisterAsync(server, new CallbackRegistration(RegistrationType.AddClient, 20_000 + i,
                    EquatableList.Of(new EventRegistration("EC_Cluster", "ESC_cluster_membership"))))).Status;
            }
            catch (Exception ex) when (ex is SocketException or IOException)
            {
                return (StatusCode)(-1);
            }
        }));
        output.WriteLine("flood of 3,000 registrations: " + string.Join(", ", statuses.GroupBy(s => s).Select(g => $"{g.Key} {g.Count()}")));
        Assert.True(statuses.Count(s => s == StatusCode.Ok) <= 1000, "more clients than MaxClients were registered");
        Assert.Contains(StatusCode.LowResource, statuses);

        var (_, peak) = edge.Usage();
        output.WriteLine($"edge peak RSS: {peak:F0} MiB (at start {rssAtStart:F0} MiB; bound {RssBoundMiB} MiB)");
        Assert.True(peak < RssBoundMiB, $"edge peak RSS {peak:F0} MiB is over the {RssBoundMiB} MiB bound");
        Assert.False(edge.HasExited);
        var logged = edge.Output.Concat(edge.Errors).ToList();
        Assert.DoesNotContain(logged, l => l.Contains("fail:", StringComparison.Ordinal) || l.Contains("crit:", StringComparison.Ordinal)
            || l.Contains("Unhandled", StringComparison.OrdinalIgnoreCase));
    }

    /// <summary>A document with invalid UTF-8 (a lone lead byte, 0xFF, 0xFE) between two ASCII parts.</summary>
    private static byte[] Invalid(string before, string after) =>
        [.. Encoding.ASCII.GetBytes(before), 0xC3, 0x28, 0xFF, 0xFE, .. Encoding.ASCII.GetBytes(after)];

    private static async Task<long> SendUntilClosedAsync(IPEndPoint server, string prefix, long total)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(server);
        var chunk = Encoding.ASCII.GetBytes(new string('A', 64 * 1024));
        long sent = 0;
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        try
        {
            sent += await socket.SendAsync(Encoding.ASCII.GetBytes(prefix), SocketFlags.None, timeout.Token);
            while (sent < total)
            {
                sent += await socket.SendAsync(chunk, SocketFlags.None, timeout.Token);
            }
        }
        catch (Exception ex) when (ex is SocketException or OperationCanceledException)
        {
            // Closed (reset) by the edge, or it stopped reading and the window stayed shut.
        }
        return sent;
    }

    private static async Task<string> ExchangeOrCloseAsync(IPEndPoint server, byte[] bytes)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(server);
        using var timeout = new CancellationTokenSource(ClientTimeout + TimeSpan.FromSeconds(5));
        try
        {
            await socket.SendAsync(bytes, SocketFlags.None, timeout.Token);
            socket.Shutdown(SocketShutdown.Send);
            return Encoding.UTF8.GetString(await CrnpTestClient.ReadToEndAsync(socket, timeout.Token));
        }
        catch (SocketException)
        {
            return ""; // reset: closed without an answer
        }
    }

    private static async Task<TimeSpan> SlowlorisAsync(IPEndPoint server)
    {
        using var socket = await CrnpTestClient.ConnectAsync(server, SlowlorisHost, CancellationToken.None);
        var clock = Stopwatch.StartNew();
        var document = "<SC_CALLBACK_REG VERSION=\"1.0\" PORT=\"1\" REG_TYPE=\"ADD_CLIENT\">"u8.ToArray();
        try
        {
            for (var i = 0; i < 100 && clock.Elapsed < SlowlorisFor; i++)
            {
                await socket.SendAsync(document.AsMemory(i % document.Length, 1), SocketFlags.None);
                await Task.Delay(250);
                if (socket.Poll(0, SelectMode.SelectRead) && socket.Available == 0)
                {
                    return clock.Elapsed; // the edge closed it
                }
            }
        }
        catch (SocketException)
        {
            return clock.Elapsed;
        }
        return clock.Elapsed;
    }
}
