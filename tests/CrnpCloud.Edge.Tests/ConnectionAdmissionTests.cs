using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using CrnpCloud.Core;
using CrnpCloud.Protocol;
using CrnpCloud.Testing;
using static CrnpCloud.Edge.Tests.Registrations;

namespace CrnpCloud.Edge.Tests;

/// <summary>
/// Admission as a connection is accepted (PROTOCOL.md section 10): refused hosts and connections
/// over a limit are answered before the edge reads a byte, and silent connections are cut at
/// IdleTimeout. The peers here send nothing, so an answer can only come from the admission.
/// </summary>
public sealed class ConnectionAdmissionTests
{
    /// <summary>Far below the test host's ClientTimeout (10 s): an answer this fast did not wait for a document.</summary>
    private static readonly TimeSpan AtOnce = TimeSpan.FromSeconds(3);

    [Fact]
    public async Task ADeniedHost_IsAnsweredFail_BeforeSendingAnything()
    {
        await using var edge = await EdgeHost.StartAsync(new InMemoryStore(), new Dictionary<string, string?> { ["Crnp:Edge:DenyHosts"] = "127.0.0.7" });

        var (reply, elapsed) = await AnswerWithoutSendingAsync(edge.Endpoint, IPAddress.Parse("127.0.0.7"));

        Assert.Equal(StatusCode.Fail, reply?.Status);
        Assert.Contains("not allowed", reply!.Message, StringComparison.Ordinal);
        Assert.True(elapsed < AtOnce, $"answered after {elapsed}");
        Assert.Contains(edge.Logs.Entries, e => e.Message.Contains("host not allowed to register", StringComparison.Ordinal));
    }

    [Fact]
    public async Task AConnectionOverThePerAddressLimit_IsAnsweredLowResource_AndAnotherHostIsServed()
    {
        await using var edge = await EdgeHost.StartAsync(new InMemoryStore(), new Dictionary<string, string?> { ["Crnp:Edge:MaxConnectionsPerAddress"] = "2" });
        var flooder = IPAddress.Parse("127.0.0.8");
        using var first = await CrnpTestClient.ConnectAsync(edge.Endpoint, flooder, CancellationToken.None);
        using var second = await CrnpTestClient.ConnectAsync(edge.Endpoint, flooder, CancellationToken.None);
        await Eventually.TrueAsync(() => Task.FromResult(edge.Logs.Entries.Count(Accepted) >= 2), "the edge accepted both");

        var (reply, elapsed) = await AnswerWithoutSendingAsync(edge.Endpoint, flooder);

        Assert.Equal(StatusCode.LowResource, reply?.Status);
        Assert.True(elapsed < AtOnce, $"answered after {elapsed}");
        Assert.Equal(StatusCode.Ok, (await CrnpTestClient.RegisterAsync(edge.Endpoint, AddClient(7901, Membership), IPAddress.Parse("127.0.0.9"))).Status);
        Assert.Contains(edge.Logs.Entries, e => e.Message.Contains("registration connections already open from that address", StringComparison.Ordinal));
    }

    [Fact]
    public async Task AConnectionOverTheGlobalLimit_IsAnsweredLowResource_AndLogged()
    {
        await using var edge = await EdgeHost.StartAsync(new InMemoryStore(), new Dictionary<string, string?> { ["Crnp:Edge:MaxConcurrentConnections"] = "2" });
        using var first = await CrnpTestClient.ConnectAsync(edge.Endpoint, IPAddress.Parse("127.0.0.10"), CancellationToken.None);
        using var second = await CrnpTestClient.ConnectAsync(edge.Endpoint, IPAddress.Parse("127.0.0.11"), CancellationToken.None);
        await Eventually.TrueAsync(() => Task.FromResult(edge.Logs.Entries.Count(Accepted) >= 2), "the edge accepted both");

        var (reply, elapsed) = await AnswerWithoutSendingAsync(edge.Endpoint, IPAddress.Parse("127.0.0.12"));

        Assert.Equal(StatusCode.LowResource, reply?.Status);
        Assert.True(elapsed < AtOnce, $"answered after {elapsed}");
        Assert.Contains(edge.Logs.Entries, e => e.Message.Contains("registration connections already open;", StringComparison.Ordinal));
    }

    [Fact]
    public async Task ADeniedHost_IsAnsweredFail_EvenWhenEveryPlaceIsTaken()
    {
        await using var edge = await EdgeHost.StartAsync(new InMemoryStore(), new Dictionary<string, string?>
        {
            ["Crnp:Edge:DenyHosts"] = "127.0.0.13",
            ["Crnp:Edge:MaxConcurrentConnections"] = "1",
        });
        using var first = await CrnpTestClient.ConnectAsync(edge.Endpoint, IPAddress.Parse("127.0.0.14"), CancellationToken.None);
        await Eventually.TrueAsync(() => Task.FromResult(edge.Logs.Entries.Count(Accepted) >= 1), "the edge accepted the first");

        var (reply, _) = await AnswerWithoutSendingAsync(edge.Endpoint, IPAddress.Parse("127.0.0.13"));

        Assert.Equal(StatusCode.Fail, reply?.Status);
    }

    [Fact]
    public async Task OverBothLimits_TheGlobalLimitAnswers()
    {
        await using var edge = await EdgeHost.StartAsync(new InMemoryStore(), new Dictionary<string, string?>
        {
            ["Crnp:Edge:MaxConcurrentConnections"] = "1",
            ["Crnp:Edge:MaxConnectionsPerAddress"] = "1",
        });
        var host = IPAddress.Parse("127.0.0.15");
        using var first = await CrnpTestClient.ConnectAsync(edge.Endpoint, host, CancellationToken.None);
        await Eventually.TrueAsync(() => Task.FromResult(edge.Logs.Entries.Count(Accepted) >= 1), "the edge accepted the first");

        var (reply, _) = await AnswerWithoutSendingAsync(edge.Endpoint, host);

        Assert.Equal(StatusCode.LowResource, reply?.Status);
        Assert.Equal("too many registration connections open; retry later", reply!.Message);
    }

    [Fact]
    public async Task ASilentConnection_IsClosedAtIdleTimeout_LongBeforeClientTimeout()
    {
        await using var edge = await EdgeHost.StartAsync(new InMemoryStore(), new Dictionary<string, string?> { ["Crnp:Edge:IdleTimeout"] = "00:00:00.300" });

        var (reply, elapsed) = await AnswerWithoutSendingAsync(edge.Endpoint, IPAddress.Loopback);

        Assert.Null(reply);
        Assert.True(elapsed < AtOnce, $"closed after {elapsed}");
        Assert.Contains(edge.Logs.Entries, e => e.Message.Contains("sent no byte", StringComparison.Ordinal));
    }

    [Fact]
    public async Task ACompleteRegistration_SentInPiecesCloserThanIdleTimeout_IsAnswered()
    {
        await using var edge = await EdgeHost.StartAsync(new InMemoryStore(), new Dictionary<string, string?> { ["Crnp:Edge:IdleTimeout"] = "00:00:05" });
        var document = CrnpWriter.ToBytes(AddClient(7902, Membership));

        // 16 pieces 400 ms apart (a twelfth of IdleTimeout, so a loaded CI machine keeps every gap well
        // inside it), the whole longer than IdleTimeout: the idle timer restarts at each byte. The first
        // piece goes as soon as the connection is up: the edge's idle timer starts at the accept, and CI
        // once saw the edge close for idleness 0.6 s after a clock started only after the connect
        // returned (the test process stalled in between).
        var piece = (document.Length + 15) / 16;
        var clock = Stopwatch.StartNew();
        using var socket = await CrnpTestClient.ConnectAsync(edge.Endpoint, null, CancellationToken.None);
        for (var at = 0; at < document.Length; at += piece)
        {
            if (at > 0)
            {
                await Task.Delay(400);
            }
            try
            {
                await socket.SendAsync(document.AsMemory(at, Math.Min(piece, document.Length - at)), SocketFlags.None);
            }
            catch (SocketException ex)
            {
                // Closed by the edge mid-document (seen once in CI after 4 s): say what it logged.
                Assert.Fail($"piece at byte {at} of {document.Length}, {clock.Elapsed} in: {ex.SocketErrorCode}; edge log:\n"
                    + string.Join('\n', edge.Logs.Entries.Select(e => $"{e.Category}: {e.Message}")));
            }
        }
        Assert.True(clock.Elapsed > TimeSpan.FromSeconds(5), $"the document took only {clock.Elapsed}");
        using var timeout = new CancellationTokenSource(CrnpTestClient.Patience);
        var reply = CrnpParser.ParseReply(new(await CrnpTestClient.ReadToEndAsync(socket, timeout.Token)));

        Assert.True(reply.IsSuccess, reply.ToString());
        Assert.Equal(StatusCode.Ok, reply.Value.Status);
    }

    private static bool Accepted(LogEntry e) =>
        e.Category.EndsWith("Kestrel.Connections", StringComparison.Ordinal) && e.Message.Contains("started", StringComparison.Ordinal);

    /// <summary>Connects, sends nothing, and reads until the edge closes: its reply (null if none) and how long it took.</summary>
    private static async Task<(CrnpReply? Reply, TimeSpan Elapsed)> AnswerWithoutSendingAsync(IPEndPoint server, IPAddress from)
    {
        using var socket = await CrnpTestClient.ConnectAsync(server, from, CancellationToken.None);
        var clock = Stopwatch.StartNew();
        using var timeout = new CancellationTokenSource(CrnpTestClient.Patience);
        var raw = await CrnpTestClient.ReadToEndAsync(socket, timeout.Token);
        var parsed = CrnpParser.ParseReply(new(raw));
        return (raw.Length == 0 ? null : parsed.Value, clock.Elapsed);
    }
}
