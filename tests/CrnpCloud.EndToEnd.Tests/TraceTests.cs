using CrnpCloud.EndToEnd.Tests.Otlp;
using CrnpCloud.Ingest.V1;
using CrnpCloud.Protocol;
using CrnpCloud.Testing;
using Grpc.Net.Client;

namespace CrnpCloud.EndToEnd.Tests;

/// <summary>
/// One trace per event, across processes: the services export over real OTLP/HTTP to a receiver in
/// this test, and the publish, the fan-out and the delivery to each client share one trace id.
/// </summary>
public sealed class TraceTests(RedisServerFixture redis) : IClassFixture<RedisServerFixture>
{
    [Fact]
    public async Task OneTrace_CoversPublish_FanOut_AndTheDeliveryToEachClient()
    {
        await using var receiver = await OtlpReceiver.StartAsync();
        await using var cluster = await CrnpSystem.StartAsync(SystemOptions.Processes(redis.Server).Set(new Dictionary<string, string>
        {
            ["OTEL_EXPORTER_OTLP_ENDPOINT"] = receiver.Endpoint,
            ["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf",
            ["OTEL_BSP_SCHEDULE_DELAY"] = "200",
        }));
        await using var first = CrnpTestListener.Start();
        await using var second = CrnpTestListener.Start();
        var edge = cluster.Edge;
        foreach (var listener in new[] { first, second })
        {
            var reply = await CrnpTestClient.RegisterAsync(edge, new CallbackRegistration(RegistrationType.AddClient, listener.Address.Port, new EventRegistration("EC_Cluster")));
            Assert.Equal(Protocol.StatusCode.Ok, reply.Status);
        }

        using var channel = GrpcChannel.ForAddress($"http://{cluster.Ingest}");
        var published = await new EventIngest.EventIngestClient(channel).PublishAsync(new PublishRequest
        {
            Event = new Event { Class = "EC_Cluster", Subclass = "ESC_cluster_membership", Nvpairs = { new Ingest.V1.NameValue { Name = "node_list", Values = { "node1" } } } },
        });
        await first.WaitForAsync(1);
        await second.WaitForAsync(1);

        // The fan-out span names the event's sequence; its trace must gather everything else.
        var sequence = published.Sequence.ToString(System.Globalization.CultureInfo.InvariantCulture);
        ReceivedSpan? fanOut = null;
        List<ReceivedSpan> trace = [];
        await Eventually.TrueAsync(() =>
        {
            fanOut = receiver.Spans.FirstOrDefault(s => s.Name == "crnp.fanout" && s.Attributes.GetValueOrDefault("crnp.event.sequence") == sequence);
            trace = fanOut is null ? [] : [.. receiver.Spans.Where(s => s.TraceId == fanOut.TraceId)];
            return Task.FromResult(trace.Count(s => s.Name == "crnp.deliver") >= 2 && trace.Any(s => s.Name == "crnp.publish") && trace.Any(s => s.ParentSpanId.Trim('0').Length == 0));
        }, "publish, fan-out and both deliveries exported in one trace", TimeSpan.FromSeconds(30));

        Assert.NotNull(fanOut);
        Assert.Equal("crnpcloud-ingest", fanOut.Service);
        var publish = Assert.Single(trace, s => s.Name == "crnp.publish");
        Assert.Equal(publish.SpanId, fanOut.ParentSpanId);
        var root = Assert.Single(trace, s => s.ParentSpanId.Trim('0').Length == 0);
        Assert.Equal("crnpcloud-ingest", root.Service);
        Assert.Equal(root.SpanId, publish.ParentSpanId);
        var deliveries = trace.Where(s => s.Name == "crnp.deliver").ToList();
        Assert.All(deliveries, d => Assert.Equal(("crnpcloud-delivery", fanOut.SpanId), (d.Service, d.ParentSpanId)));
        Assert.Equal(
            new[] { first.Address.ToString(), second.Address.ToString() }.Order(),
            deliveries.Select(d => d.Attributes["crnp.client"]).Distinct().Order());
    }
}
