using System.Net;
using CrnpCloud.Core;
using CrnpCloud.Ingest.V1;
using CrnpCloud.Protocol;
using CrnpCloud.Testing;
using Grpc.Core;
using Grpc.Health.V1;
using Grpc.Reflection.V1Alpha;
using StatusCode = Grpc.Core.StatusCode;

namespace CrnpCloud.Ingest.Tests;

public sealed class IngestTests
{
    private static readonly RegistrationLimits Limits = new(10_000, 100);

    private static async Task Register(ICrnpStore store, int port, params EventRegistration[] types) =>
        await store.ApplyAsync(new RegistrationChange(RegistrationType.AddClient, new CallbackAddress(IPAddress.Loopback, port), new EquatableList<EventRegistration>(types), Limits));

    [Fact]
    public async Task Publish_OrdersAndQueues_AndFillsTheDefaults()
    {
        var store = new InMemoryStore();
        await Register(store, 1, new EventRegistration("EC_Cluster", "ESC_cluster_membership"));
        await using var ingest = await IngestHost.StartAsync(store);

        var first = await ingest.Client.PublishAsync(Events.Membership(1, 1));
        var second = await ingest.Client.PublishAsync(Events.Membership(2, -1));

        Assert.Equal(1, first.QueuedClients);
        Assert.True(second.Sequence > first.Sequence);
        Assert.NotEqual(first.EventId, second.EventId);
        var queue = await store.PeekQueueAsync(new CallbackAddress(IPAddress.Loopback, 1), 10);
        Assert.Equal([first.Sequence, second.Sequence], queue.Select(e => e.Event.Sequence));
        var delivered = queue[1].Event.Event;
        Assert.Equal(("SUNW", "rgm"), (delivered.Vendor, delivered.Publisher));
        Assert.Equal(new Protocol.NameValue("state_list", "2", "-1"), delivered.NameValues[1]);
    }

    [Fact]
    public async Task Publish_CarriesTheCallersTraceContext()
    {
        var store = new InMemoryStore();
        await Register(store, 1, new EventRegistration("EC_Cluster"));
        await using var ingest = await IngestHost.StartAsync(store);
        const string traceParent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

        await ingest.Client.PublishAsync(Events.Membership(1), new Metadata { { "traceparent", traceParent } });

        var entry = (await store.PeekQueueAsync(new CallbackAddress(IPAddress.Loopback, 1), 1)).Single();
        Assert.NotNull(entry.Event.TraceParent);
        Assert.Contains("4bf92f3577b34da6a3ce929d0e0e4736", entry.Event.TraceParent, StringComparison.Ordinal);
    }

    public static TheoryData<string, PublishRequest> InvalidRequests() => new()
    {
        { "event", new PublishRequest() },
        { "event.class", new PublishRequest { Event = new Event { Subclass = "s" } } },
        { "event.subclass", new PublishRequest { Event = new Event { Class = "c", Subclass = "  " } } },
        { "event.nvpairs[0].name", new PublishRequest { Event = new Event { Class = "c", Subclass = "s", Nvpairs = { Events.Pair("", "v") } } } },
        { "event.nvpairs[1].values", new PublishRequest { Event = new Event { Class = "c", Subclass = "s", Nvpairs = { Events.Pair("a", "v"), new V1.NameValue { Name = "b" } } } } },
        { "event.nvpairs[0].values[1]", new PublishRequest { Event = new Event { Class = "c", Subclass = "s", Nvpairs = { Events.Pair("a", "ok", "bell\u0007") } } } },
        { "event.vendor", new PublishRequest { Event = new Event { Class = "c", Subclass = "s", Vendor = "nul\0" } } },
        { "idempotency_key", new PublishRequest { Event = new Event { Class = "c", Subclass = "s" }, IdempotencyKey = new string('k', 300) } },
    };

    [Theory]
    [MemberData(nameof(InvalidRequests))]
    public async Task InvalidEvent_IsInvalidArgument_NamingTheField_AndPublishesNothing(string field, PublishRequest request)
    {
        var store = new InMemoryStore();
        await using var ingest = await IngestHost.StartAsync(store);

        var error = await Assert.ThrowsAsync<RpcException>(async () => await ingest.Client.PublishAsync(request));

        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.StartsWith(field + ":", error.Status.Detail, StringComparison.Ordinal);
        Assert.Empty(await store.GetLatestAsync());
    }

    [Fact]
    public async Task Oversize_IsResourceExhausted_AtEachLimit()
    {
        var store = new InMemoryStore();
        await using var ingest = await IngestHost.StartAsync(store, new Dictionary<string, string?>
        {
            ["Crnp:Ingest:MaxEventBytes"] = "2048",
            ["Crnp:Ingest:MaxReceiveMessageBytes"] = "65536",
        });
        var bigEvent = new PublishRequest { Event = new Event { Class = "c", Subclass = "s", Nvpairs = { Events.Pair("a", new string('x', 3000)) } } };
        var bigMessage = new PublishRequest { Event = new Event { Class = "c", Subclass = "s", Nvpairs = { Events.Pair("a", [.. Enumerable.Repeat(new string('x', 1000), 100)]) } } };
        var longText = new PublishRequest { Event = new Event { Class = new string('c', 5000), Subclass = "s" } };

        foreach (var request in new[] { bigEvent, bigMessage, longText })
        {
            var error = await Assert.ThrowsAsync<RpcException>(async () => await ingest.Client.PublishAsync(request));
            Assert.Equal(StatusCode.ResourceExhausted, error.StatusCode);
        }
        Assert.Empty(await store.GetLatestAsync());
    }

    [Fact]
    public async Task Flood_OfMixedRequests_GetsTheRightStatusEach_AndNothingPartial()
    {
        // 2,000 concurrent calls, a quarter each: valid, invalid, oversize, unauthenticated. Each gets
        // its own status; exactly the valid ones are stored and queued, each once.
        var store = new InMemoryStore();
        await Register(store, 1, new EventRegistration("EC_Cluster", "ESC_cluster_membership"));
        await using var ingest = await IngestHost.StartAsync(store, new Dictionary<string, string?>
        {
            ["Crnp:Ingest:MaxEventBytes"] = "2048",
            ["Crnp:Ingest:AuthTokens"] = "flood-token",
        });
        var good = new Metadata { { "authorization", "Bearer flood-token" } };
        var bad = new Metadata { { "authorization", "Bearer wrong" } };
        var outcomes = await Task.WhenAll(Enumerable.Range(0, 2000).Select(async i =>
        {
            var (request, headers) = (i % 4) switch
            {
                0 => (Events.Membership(i, -1), good),
                1 => (new PublishRequest { Event = new Event { Class = "", Subclass = "s" } }, good),
                2 => (new PublishRequest { Event = new Event { Class = "EC_Cluster", Subclass = "ESC_cluster_membership", Nvpairs = { Events.Pair("a", new string('x', 3000)) } } }, good),
                _ => (Events.Membership(i, -1), bad),
            };
            try
            {
                await ingest.Client.PublishAsync(request, headers);
                return (i % 4, StatusCode.OK);
            }
            catch (RpcException ex)
            {
                return (i % 4, ex.StatusCode);
            }
        }));

        Assert.All(outcomes, o => Assert.Equal(o.Item1 switch
        {
            0 => StatusCode.OK,
            1 => StatusCode.InvalidArgument,
            2 => StatusCode.ResourceExhausted,
            _ => StatusCode.Unauthenticated,
        }, o.Item2));
        var queued = await store.PeekQueueAsync(new CallbackAddress(IPAddress.Loopback, 1), 10_000);
        Assert.Equal(500, queued.Count);
        Assert.Equal(500, queued.Select(e => e.Event.Event.NameValues[1].Values[0]).Distinct().Count());
    }

    [Fact]
    public async Task DuplicateIdempotencyKey_ReturnsTheFirstEvent_QueuesNothing()
    {
        var store = new InMemoryStore();
        await Register(store, 1, new EventRegistration("EC_Cluster"));
        await using var ingest = await IngestHost.StartAsync(store);
        var request = Events.Membership(3);
        request.IdempotencyKey = "node1-ready-3";

        var first = await ingest.Client.PublishAsync(request);
        var again = await ingest.Client.PublishAsync(request);

        Assert.False(first.Duplicate);
        Assert.True(again.Duplicate);
        Assert.Equal(first.EventId, again.EventId);
        Assert.Equal(first.Sequence, again.Sequence);
        Assert.Equal(0, again.QueuedClients);
        Assert.Single(await store.PeekQueueAsync(new CallbackAddress(IPAddress.Loopback, 1), 10));
    }

    [Fact]
    public async Task PublishStream_RepliesOncePerEvent_InOrder()
    {
        var store = new InMemoryStore();
        await Register(store, 1, new EventRegistration("EC_Cluster"));
        await using var ingest = await IngestHost.StartAsync(store);

        using var call = ingest.Client.PublishStream();
        var reading = Task.Run(async () =>
        {
            var replies = new List<PublishReply>();
            await foreach (var reply in call.ResponseStream.ReadAllAsync())
            {
                replies.Add(reply);
            }
            return replies;
        });
        for (var i = 0; i < 200; i++)
        {
            await call.RequestStream.WriteAsync(Events.Membership(i));
        }
        await call.RequestStream.CompleteAsync();
        var replies = await reading;

        Assert.Equal(200, replies.Count);
        Assert.Equal(replies.Select(r => r.Sequence).Order(), replies.Select(r => r.Sequence));
        var queued = await store.PeekQueueAsync(new CallbackAddress(IPAddress.Loopback, 1), 1000);
        Assert.Equal(replies.Select(r => r.Sequence), queued.Select(e => e.Event.Sequence));
    }

    [Fact]
    public async Task BearerTokens_WhenConfigured_AreRequired()
    {
        var store = new InMemoryStore();
        await using var ingest = await IngestHost.StartAsync(store, new Dictionary<string, string?> { ["Crnp:Ingest:AuthTokens"] = "s3cret, other" });

        var none = await Assert.ThrowsAsync<RpcException>(async () => await ingest.Client.PublishAsync(Events.Membership(1)));
        var wrong = await Assert.ThrowsAsync<RpcException>(async () => await ingest.Client.PublishAsync(Events.Membership(1), new Metadata { { "authorization", "Bearer nope" } }));
        var ok = await ingest.Client.PublishAsync(Events.Membership(1), new Metadata { { "authorization", "Bearer other" } });
        var health = await new Health.HealthClient(ingest.Channel).CheckAsync(new HealthCheckRequest());

        Assert.Equal(StatusCode.Unauthenticated, none.StatusCode);
        Assert.Equal(StatusCode.Unauthenticated, wrong.StatusCode);
        Assert.True(ok.Sequence > 0);
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, health.Status);
        Assert.Single(await store.GetLatestAsync());
    }

    [Fact]
    public async Task HealthAndReflection_AreServed()
    {
        await using var ingest = await IngestHost.StartAsync(new InMemoryStore());

        var health = await new Health.HealthClient(ingest.Channel).CheckAsync(new HealthCheckRequest());
        using var reflection = new ServerReflection.ServerReflectionClient(ingest.Channel).ServerReflectionInfo();
        await reflection.RequestStream.WriteAsync(new ServerReflectionRequest { ListServices = "" });
        await reflection.RequestStream.CompleteAsync();
        Assert.True(await reflection.ResponseStream.MoveNext(CancellationToken.None));

        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, health.Status);
        Assert.Contains("crnp.v1.EventIngest", reflection.ResponseStream.Current.ListServicesResponse.Service.Select(s => s.Name));
    }

    [Fact]
    public async Task BadSettings_StopTheServiceAtStart()
    {
        var error = await Assert.ThrowsAsync<Microsoft.Extensions.Options.OptionsValidationException>(() =>
            IngestHost.StartAsync(new InMemoryStore(), new Dictionary<string, string?> { ["Crnp:Ingest:MaxEventBytes"] = "1000000", ["Crnp:Ingest:MaxReceiveMessageBytes"] = "2048" }));

        Assert.Contains("MaxEventBytes", error.Message, StringComparison.Ordinal);
    }
}
