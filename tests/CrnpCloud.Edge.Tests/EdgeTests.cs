using System.Net;
using System.Net.Sockets;
using System.Text;
using CrnpCloud.Core;
using CrnpCloud.Protocol;
using CrnpCloud.Testing;
using static CrnpCloud.Edge.Tests.Registrations;

namespace CrnpCloud.Edge.Tests;

/// <summary>
/// Registration behaviour of the edge over real TCP. Each store implementation runs the whole set
/// through a subclass that says how to make a fresh store.
/// </summary>
public abstract class EdgeTests
{
    private static readonly string SpecExample =
        "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"no\"?><SC_CALLBACK_REG PORT=\"18888\" REG_TYPE=\"ADD_CLIENT\" VERSION=\"1.0\"><SC_EVENT_REG CLASS=\"EC_Cluster\" SUBCLASS=\"ESC_cluster_membership\"/><SC_EVENT_REG CLASS=\"EC_Cluster\" SUBCLASS=\"ESC_cluster_rg_state\"><NVPAIR><NAME>rg_name</NAME><VALUE>rg1</VALUE></NVPAIR></SC_EVENT_REG></SC_CALLBACK_REG>";

    protected abstract Task<ICrnpStore> CreateStoreAsync();

    private async Task<(EdgeHost Edge, ICrnpStore Store)> StartAsync(IDictionary<string, string?>? settings = null)
    {
        var store = await CreateStoreAsync();
        return (await EdgeHost.StartAsync(store, settings), store);
    }

    [Fact]
    public async Task SpecExample_WithoutHalfClose_GetsOkThenEof()
    {
        var (edge, store) = await StartAsync();
        await using var _ = edge;
        using var socket = await CrnpTestClient.ConnectAsync(edge.Endpoint, null, CancellationToken.None);

        // Exactly what the Java client does: write the document, keep the socket open, read to EOF.
        await socket.SendAsync(Encoding.UTF8.GetBytes(SpecExample), SocketFlags.None);
        using var timeout = new CancellationTokenSource(CrnpTestClient.Patience);
        var raw = await CrnpTestClient.ReadToEndAsync(socket, timeout.Token);

        var reply = CrnpParser.ParseReply(new(raw));
        Assert.True(reply.IsSuccess, reply.ToString());
        Assert.Equal(StatusCode.Ok, reply.Value.Status);
        var client = await store.GetClientAsync(new CallbackAddress(IPAddress.Loopback, 18888));
        Assert.NotNull(client);
        Assert.Equal([Membership, RgState("rg1")], client.Types);
        Assert.Empty(edge.Logs.Errors());
    }

    [Theory]
    [InlineData(RegistrationType.AddEvents)]
    [InlineData(RegistrationType.RemoveEvents)]
    [InlineData(RegistrationType.RemoveClient)]
    public async Task BeforeAddClient_OtherForms_AreFail_AndChangeNothing(RegistrationType type)
    {
        var (edge, store) = await StartAsync();
        await using var _ = edge;

        var reply = await CrnpTestClient.RegisterAsync(edge.Endpoint, new CallbackRegistration(type, 7000, Membership));

        Assert.Equal(StatusCode.Fail, reply.Status);
        Assert.Contains("ADD_CLIENT", reply.Message, StringComparison.Ordinal);
        Assert.Empty(await store.ListClientsAsync());
    }

    [Fact]
    public async Task SecondAddClient_ReplacesTheRegistration()
    {
        var (edge, store) = await StartAsync();
        await using var _ = edge;

        Assert.Equal(StatusCode.Ok, (await CrnpTestClient.RegisterAsync(edge.Endpoint, AddClient(7001, Membership, RgState("a")))).Status);
        Assert.Equal(StatusCode.Ok, (await CrnpTestClient.RegisterAsync(edge.Endpoint, AddClient(7001, RgState("b")))).Status);

        var clients = await store.ListClientsAsync();
        var client = Assert.Single(clients);
        Assert.Equal([RgState("b")], client.Types);
    }

    [Fact]
    public async Task DuplicateType_AndRemovingAnUnknownType_AreSilentlyOk()
    {
        var (edge, store) = await StartAsync();
        await using var _ = edge;
        await CrnpTestClient.RegisterAsync(edge.Endpoint, AddClient(7002, Membership));

        var duplicate = await CrnpTestClient.RegisterAsync(edge.Endpoint, AddEvents(7002, Membership, Membership, RgState("x")));
        var unknown = await CrnpTestClient.RegisterAsync(edge.Endpoint, RemoveEvents(7002, RgState("never")));

        Assert.Equal(StatusCode.Ok, duplicate.Status);
        Assert.Equal(StatusCode.Ok, unknown.Status);
        var client = await store.GetClientAsync(new CallbackAddress(IPAddress.Loopback, 7002));
        Assert.Equal([Membership, RgState("x")], client!.Types);
    }

    [Fact]
    public async Task RemoveEvents_ThenRemoveClient_UnregistersStepByStep()
    {
        var (edge, store) = await StartAsync();
        await using var _ = edge;
        var address = new CallbackAddress(IPAddress.Loopback, 7003);
        await CrnpTestClient.RegisterAsync(edge.Endpoint, AddClient(7003, Membership, RgState("a")));

        Assert.Equal(StatusCode.Ok, (await CrnpTestClient.RegisterAsync(edge.Endpoint, RemoveEvents(7003, Membership))).Status);
        Assert.Equal([RgState("a")], (await store.GetClientAsync(address))!.Types);
        Assert.Equal(StatusCode.Ok, (await CrnpTestClient.RegisterAsync(edge.Endpoint, RemoveClient(7003))).Status);
        Assert.Null(await store.GetClientAsync(address));
        Assert.Equal(StatusCode.Fail, (await CrnpTestClient.RegisterAsync(edge.Endpoint, RemoveClient(7003))).Status);
    }

    [Theory]
    [InlineData("<SC_CALLBACK_REG PORT=\"1\" REG_TYPE=\"ADD_CLIENT\"><oops></SC_CALLBACK_REG>", StatusCode.Malformed)]
    [InlineData("\u0000\u0001garbage", StatusCode.Malformed)]
    [InlineData("<SC_CALLBACK_REG PORT=\"0\" REG_TYPE=\"ADD_CLIENT\"/>", StatusCode.Invalid)]
    [InlineData("<SC_CALLBACK_REG PORT=\"1\" REG_TYPE=\"JOIN\"/>", StatusCode.Invalid)]
    [InlineData("<SC_EVENT VERSION=\"1.0\" CLASS=\"c\" SUBCLASS=\"s\" VENDOR=\"v\" PUBLISHER=\"p\"/>", StatusCode.Invalid)]
    [InlineData("<!DOCTYPE x [<!ENTITY a SYSTEM \"file:///etc/passwd\">]><SC_CALLBACK_REG PORT=\"1\" REG_TYPE=\"ADD_CLIENT\"/>", StatusCode.Invalid)]
    [InlineData("<SC_CALLBACK_REG VERSION=\"2.0\" PORT=\"1\" REG_TYPE=\"ADD_CLIENT\"/>", StatusCode.VersionTooHigh)]
    [InlineData("<!DOCTYPE SC_REPLY SYSTEM \"x.dtd\"><SC_CALLBACK_REG PORT=\"1\" REG_TYPE=\"ADD_CLIENT\"/>", StatusCode.Invalid)]
    [InlineData("<SC_CALLBACK_REG VERSION=\"2.0\" PORT=\"1\" REG_TYPE=\"REMOVE_CLIENT\"/>", StatusCode.VersionTooHigh)]
    [InlineData("<SC_CALLBACK_REG VERSION=\"0.5\" PORT=\"1\" REG_TYPE=\"ADD_CLIENT\"/>", StatusCode.VersionTooLow)]
    public async Task BadDocuments_GetTheirStatusCode_AndChangeNothing(string document, StatusCode expected)
    {
        var (edge, store) = await StartAsync();
        await using var _ = edge;

        var reply = await CrnpTestClient.SendAsync(edge.Endpoint, document);

        Assert.Equal(expected, reply.Status);
        Assert.NotEmpty(reply.Message);
        Assert.Empty(await store.ListClientsAsync());
        Assert.Equal(StatusCode.Ok, (await CrnpTestClient.RegisterAsync(edge.Endpoint, AddClient(7004))).Status);
        Assert.Empty(edge.Logs.Errors());
    }

    [Fact]
    public async Task Doctype_WithASystemId_IsRegistered_AndNothingIsFetched()
    {
        var (edge, store) = await StartAsync();
        await using var _ = edge;

        var reply = await CrnpTestClient.SendAsync(edge.Endpoint,
            "<?xml version=\"1.0\"?><!DOCTYPE SC_CALLBACK_REG SYSTEM \"http://attacker.invalid/x.dtd\"><SC_CALLBACK_REG PORT=\"7005\" REG_TYPE=\"ADD_CLIENT\"/>");

        Assert.Equal(StatusCode.Ok, reply.Status);
        Assert.Single(await store.ListClientsAsync());
    }

    [Fact]
    public async Task TruncatedDocument_ThenHalfClose_IsMalformed()
    {
        var (edge, _) = await StartAsync();
        await using var __ = edge;
        using var socket = await CrnpTestClient.ConnectAsync(edge.Endpoint, null, CancellationToken.None);

        await socket.SendAsync(Encoding.UTF8.GetBytes(SpecExample[..100]), SocketFlags.None);
        socket.Shutdown(SocketShutdown.Send);
        using var timeout = new CancellationTokenSource(CrnpTestClient.Patience);
        var reply = CrnpParser.ParseReply(new(await CrnpTestClient.ReadToEndAsync(socket, timeout.Token)));

        Assert.Equal(StatusCode.Malformed, reply.Value!.Status);
    }

    [Fact]
    public async Task ResetMidDocument_IsNotAnError_AndTheServerKeepsServing()
    {
        var (edge, _) = await StartAsync();
        await using var __ = edge;
        using (var socket = await CrnpTestClient.ConnectAsync(edge.Endpoint, null, CancellationToken.None))
        {
            await socket.SendAsync(Encoding.UTF8.GetBytes(SpecExample[..100]), SocketFlags.None);
            socket.Close(0);
        }

        await Eventually.TrueAsync(() => Task.FromResult(edge.Logs.Entries.Any(e => e.Message.Contains("was reset", StringComparison.Ordinal))), "the reset is noticed");
        Assert.Equal(StatusCode.Ok, (await CrnpTestClient.RegisterAsync(edge.Endpoint, AddClient(7005))).Status);
        Assert.Empty(edge.Logs.Errors());
    }

    [Fact]
    public async Task Oversize_IsMalformed_WithoutReadingItAll()
    {
        var (edge, _) = await StartAsync(new Dictionary<string, string?> { ["Crnp:Edge:Limits:MaxDocumentBytes"] = "4096" });
        await using var __ = edge;
        var huge = Encoding.UTF8.GetBytes("<SC_CALLBACK_REG PORT=\"1\" REG_TYPE=\"ADD_CLIENT\">" + new string(' ', 8000));

        var reply = await CrnpTestClient.SendAsync(edge.Endpoint, huge);

        Assert.Equal(StatusCode.Malformed, reply.Status);
        Assert.Contains("4096", reply.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task MaxClients_NewClientGetsLowResource_ExistingMayReRegister()
    {
        var (edge, store) = await StartAsync(new Dictionary<string, string?> { ["Crnp:Edge:MaxClients"] = "2" });
        await using var _ = edge;
        await CrnpTestClient.RegisterAsync(edge.Endpoint, AddClient(7101));
        await CrnpTestClient.RegisterAsync(edge.Endpoint, AddClient(7102));

        var third = await CrnpTestClient.RegisterAsync(edge.Endpoint, AddClient(7103));
        var again = await CrnpTestClient.RegisterAsync(edge.Endpoint, AddClient(7101, Membership));

        Assert.Equal(StatusCode.LowResource, third.Status);
        Assert.Equal(StatusCode.Ok, again.Status);
        Assert.Equal(2, (await store.ListClientsAsync()).Count);
    }

    [Fact]
    public async Task MaxTypesPerClient_IsLowResource()
    {
        var (edge, _) = await StartAsync(new Dictionary<string, string?> { ["Crnp:Edge:MaxTypesPerClient"] = "2" });
        await using var __ = edge;
        await CrnpTestClient.RegisterAsync(edge.Endpoint, AddClient(7110, RgState("a"), RgState("b")));

        var reply = await CrnpTestClient.RegisterAsync(edge.Endpoint, AddEvents(7110, RgState("c")));

        Assert.Equal(StatusCode.LowResource, reply.Status);
    }

    [Fact]
    public async Task AllowAndDeny_UseTheRealSourceAddress()
    {
        var (edge, store) = await StartAsync(new Dictionary<string, string?>
        {
            ["Crnp:Edge:AllowHosts"] = "127.0.0.0/30, ::1",
            ["Crnp:Edge:DenyHosts"] = "127.0.0.3",
        });
        await using var _ = edge;

        var allowed = await CrnpTestClient.RegisterAsync(edge.Endpoint, AddClient(7201), IPAddress.Parse("127.0.0.2"));
        var denied = await CrnpTestClient.RegisterAsync(edge.Endpoint, AddClient(7201), IPAddress.Parse("127.0.0.3"));
        var notAllowed = await CrnpTestClient.RegisterAsync(edge.Endpoint, AddClient(7201), IPAddress.Parse("127.0.0.9"));
        var v6 = await CrnpTestClient.RegisterAsync(edge.EndpointV6, AddClient(7201), IPAddress.IPv6Loopback);

        Assert.Equal(StatusCode.Ok, allowed.Status);
        Assert.Equal(StatusCode.Fail, denied.Status);
        Assert.Equal(StatusCode.Fail, notAllowed.Status);
        Assert.Equal(StatusCode.Ok, v6.Status);
        var ids = (await store.ListClientsAsync()).Select(c => c.Address.ToString()).Order().ToArray();
        Assert.Equal(["127.0.0.2:7201", "[::1]:7201"], ids);
    }

    [Fact]
    public async Task SourceIp_IsPartOfTheIdentity_AnotherHostCannotRemoveAClient()
    {
        var (edge, store) = await StartAsync();
        await using var _ = edge;
        await CrnpTestClient.RegisterAsync(edge.Endpoint, AddClient(7300), IPAddress.Parse("127.0.0.4"));

        var reply = await CrnpTestClient.RegisterAsync(edge.Endpoint, RemoveClient(7300), IPAddress.Parse("127.0.0.5"));

        Assert.Equal(StatusCode.Fail, reply.Status);
        Assert.NotNull(await store.GetClientAsync(new CallbackAddress(IPAddress.Parse("127.0.0.4"), 7300)));
    }

    [Fact]
    public async Task DefaultLocal_AllowsTheWholeLoopbackRange()
    {
        var (edge, _) = await StartAsync();
        await using var __ = edge;

        var reply = await CrnpTestClient.RegisterAsync(edge.Endpoint, AddClient(7400), IPAddress.Parse("127.10.20.30"));

        Assert.Equal(StatusCode.Ok, reply.Status);
    }

    [Fact]
    public async Task Slowloris_IsClosedWithoutReply_AndTheServerKeepsServing()
    {
        // Short enough to wait for, long enough that the well-formed registration after it (on Redis, under
        // the full suite's load) is not cut by it too: 300 ms once was, in CI.
        var (edge, _) = await StartAsync(new Dictionary<string, string?> { ["Crnp:Edge:ClientTimeout"] = "00:00:02" });
        await using var __ = edge;
        using var slow = await CrnpTestClient.ConnectAsync(edge.Endpoint, null, CancellationToken.None);
        await slow.SendAsync(Encoding.UTF8.GetBytes("<SC_CALLBACK_REG PORT=\"1\""), SocketFlags.None);

        using var timeout = new CancellationTokenSource(CrnpTestClient.Patience);
        var answer = await CrnpTestClient.ReadToEndAsync(slow, timeout.Token);

        Assert.Empty(answer);
        Assert.Equal(StatusCode.Ok, (await CrnpTestClient.RegisterAsync(edge.Endpoint, AddClient(7500))).Status);
        Assert.Contains(edge.Logs.Entries, e => e.Message.Contains("no complete registration", StringComparison.Ordinal));
    }

    [Fact]
    public async Task ClientClosingBeforeTheReply_IsStillRegistered()
    {
        var (edge, store) = await StartAsync();
        await using var _ = edge;
        var document = CrnpWriter.ToBytes(AddClient(7600, Membership));

        using (var socket = await CrnpTestClient.ConnectAsync(edge.Endpoint, null, CancellationToken.None))
        {
            await socket.SendAsync(document, SocketFlags.None);
            socket.Close();
        }

        await Eventually.TrueAsync(
            async () => await store.GetClientAsync(new CallbackAddress(IPAddress.Loopback, 7600)) is not null,
            "the registration of a client that hung up is applied");
    }

    [Fact]
    public async Task AddClient_QueuesTheLatestEventOfItsTypesFirst()
    {
        var (edge, store) = await StartAsync();
        await using var _ = edge;
        await store.PublishAsync(MembershipEvent("1", "1"), null);
        var (latest, _) = await store.PublishAsync(MembershipEvent("1", "-1"), null);
        await store.PublishAsync(new CrnpEvent("EC_Cluster", "ESC_cluster_rg_state", "SUNW", "rgm", new NameValue("rg_name", "other")), null);

        await CrnpTestClient.RegisterAsync(edge.Endpoint, AddClient(7700, Membership));
        var (after, _) = await store.PublishAsync(MembershipEvent("2", "-1"), null);

        var queue = await store.PeekQueueAsync(new CallbackAddress(IPAddress.Loopback, 7700), 10);
        Assert.Equal([latest.Sequence, after.Sequence], queue.Select(e => e.Event.Sequence));
        Assert.Equal([QueueEntryKind.FirstEvent, QueueEntryKind.Published], queue.Select(e => e.Kind));
    }

    [Fact]
    public async Task ThousandConcurrentRegistrations_AreAllAnswered()
    {
        var (edge, store) = await StartAsync(new Dictionary<string, string?>
        {
            ["Crnp:Edge:MaxClients"] = "5000",
            // All 1000 come from 127.0.0.1 at once: beyond the per-address limit some would be LOW_RESOURCE (ConnectionAdmissionTests).
            ["Crnp:Edge:MaxConnectionsPerAddress"] = "1000",
        });
        await using var _ = edge;

        var replies = await Task.WhenAll(Enumerable.Range(20000, 1000).Select(port =>
            CrnpTestClient.RegisterAsync(edge.Endpoint, AddClient(port, Membership))));

        Assert.All(replies, r => Assert.Equal(StatusCode.Ok, r.Status));
        Assert.Equal(1000, (await store.ListClientsAsync()).Count);
        Assert.Empty(edge.Logs.Errors());
    }

    [Fact]
    public async Task Stop_FinishesAnInFlightRegistration()
    {
        var (edge, store) = await StartAsync();
        await using var _ = edge;
        static bool Started(LogEntry e) =>
            e.Category.EndsWith("Kestrel.Connections", StringComparison.Ordinal) && e.Message.Contains("started", StringComparison.Ordinal);
        var startedBefore = edge.Logs.Entries.Count(Started);
        using var socket = await CrnpTestClient.ConnectAsync(edge.Endpoint, null, CancellationToken.None);
        var document = CrnpWriter.ToBytes(AddClient(7800, Membership));
        await socket.SendAsync(document.AsMemory(0, 40), SocketFlags.None);

        // Only a connection the server has accepted is in flight; one still in the backlog is refused by a stop.
        await Eventually.TrueAsync(() => Task.FromResult(edge.Logs.Entries.Count(Started) > startedBefore), "kestrel accepted the connection");
        var stopping = edge.StopAsync();
        await socket.SendAsync(document.AsMemory(40), SocketFlags.None);
        using var timeout = new CancellationTokenSource(CrnpTestClient.Patience);
        var reply = CrnpParser.ParseReply(new(await CrnpTestClient.ReadToEndAsync(socket, timeout.Token)));
        await stopping;

        Assert.Equal(StatusCode.Ok, reply.Value!.Status);
        Assert.NotNull(await store.GetClientAsync(new CallbackAddress(IPAddress.Loopback, 7800)));
    }
}

public sealed class InMemoryEdgeTests : EdgeTests
{
    protected override Task<ICrnpStore> CreateStoreAsync() => Task.FromResult<ICrnpStore>(new InMemoryStore());
}
