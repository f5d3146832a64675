using System.Net;
using CrnpCloud.Ingest.V1;
using CrnpCloud.Protocol;
using CrnpCloud.Testing;
using Grpc.Core;
using Grpc.Net.Client;
using StatusCode = CrnpCloud.Protocol.StatusCode;

namespace CrnpCloud.EndToEnd.Tests;

/// <summary>
/// "Acknowledged means replicated" (PROTOCOL.md section 12) through the real services on a real
/// Sentinel topology with Crnp:Store:MinReplicas=1: while every replica is stopped (SIGSTOP) the
/// ingest answers a publish UNAVAILABLE and the edge answers a registration RETRY; once they are back
/// the same publish (same idempotency key) and the same registration succeed.
/// </summary>
public sealed class ReplicationTests
{
    [Fact]
    public async Task WithEveryReplicaStopped_PublishIsUnavailable_AndRegistrationIsRetry_ThenBothSucceed()
    {
        await using var sentinel = await RedisSentinel.StartAsync();
        var env = new Dictionary<string, string>
        {
            ["Crnp__Store__Redis"] = sentinel.ConnectionString,
            ["Crnp__Store__KeyPrefix"] = RedisStores.UniquePrefix(),
            ["Crnp__Store__MinReplicas"] = "1",
            ["Crnp__Store__ReplicationTimeout"] = "00:00:00.500",
            ["Crnp__Edge__Port"] = "0",
            ["Crnp__Ingest__Port"] = "0",
        };
        await using var edge = ServiceProcess.Start("CrnpCloud.Edge", env);
        await using var ingest = ServiceProcess.Start("CrnpCloud.Ingest", env);
        var edgeEndPoint = new IPEndPoint(IPAddress.Loopback, await edge.PortOfAsync("crnp"));
        using var channel = GrpcChannel.ForAddress($"http://127.0.0.1:{await ingest.PortOfAsync("grpc")}");
        var client = new EventIngest.EventIngestClient(channel);
        var registration = new CallbackRegistration(RegistrationType.AddClient, 40_001, EquatableList.Of(new EventRegistration("EC_Cluster", "ESC_cluster_membership")));
        var request = new PublishRequest { Event = new Event { Class = "EC_Cluster", Subclass = "ESC_cluster_membership" }, IdempotencyKey = "replicated-1" };

        var master = await sentinel.WaitHealthyAsync(2);
        var replicas = sentinel.DataPorts.Where(p => p != master).ToList();
        replicas.ForEach(sentinel.Stop);
        StatusCode refusedRegistration;
        RpcException refusedPublish;
        try
        {
            refusedPublish = await Assert.ThrowsAsync<RpcException>(async () => await client.PublishAsync(request, deadline: DateTime.UtcNow.AddSeconds(10)));
            refusedRegistration = (await CrnpTestClient.RegisterAsync(edgeEndPoint, registration)).Status;
        }
        finally
        {
            replicas.ForEach(sentinel.Continue);
        }
        Assert.Equal(Grpc.Core.StatusCode.Unavailable, refusedPublish.StatusCode);
        Assert.Contains("idempotency key", refusedPublish.Status.Detail, StringComparison.Ordinal);
        Assert.Equal(StatusCode.Retry, refusedRegistration);

        await sentinel.WaitHealthyAsync(2);
        var published = await client.PublishAsync(request, deadline: DateTime.UtcNow.AddSeconds(10));
        Assert.True(published.Duplicate, "the retry found the event the primary kept: published once");
        Assert.Equal(StatusCode.Ok, (await CrnpTestClient.RegisterAsync(edgeEndPoint, registration)).Status);
    }
}
