using System.Net;
using CrnpCloud.Core;
using CrnpCloud.Protocol;
using CrnpCloud.Testing;
using static CrnpCloud.Edge.Tests.Registrations;

namespace CrnpCloud.Edge.Tests;

/// <summary>Registrations outlive the processes around them; a missing store means RETRY, not loss.</summary>
public sealed class EdgeDurabilityTests
{
    [Fact]
    public async Task Registrations_SurviveKillNineOfRedis_WithAof()
    {
        await using var redis = await RedisServer.StartAsync();
        using var connection = await RedisStores.ConnectAsync(redis);
        var prefix = RedisStores.UniquePrefix();
        await using var edge = await EdgeHost.StartAsync(RedisStores.Create(connection, prefix));
        foreach (var port in new[] { 8001, 8002, 8003 })
        {
            Assert.Equal(StatusCode.Ok, (await CrnpTestClient.RegisterAsync(edge.Endpoint, AddClient(port, Membership, RgState("rg" + port)))).Status);
        }

        await redis.KillAsync();
        await redis.StartAsync(CancellationToken.None);

        using var fresh = await RedisStores.ConnectAsync(redis);
        var clients = await RedisStores.Create(fresh, prefix).ListClientsAsync();
        Assert.Equal(["127.0.0.1:8001", "127.0.0.1:8002", "127.0.0.1:8003"], clients.Select(c => c.Address.ToString()).Order());
        Assert.All(clients, c => Assert.Equal([Membership, RgState("rg" + c.Address.Port)], c.Types));
        await Eventually.TrueAsync(
            async () => (await CrnpTestClient.RegisterAsync(edge.Endpoint, AddEvents(8001, RgState("more")))).Status == StatusCode.Ok,
            "the running edge reconnects and serves the surviving registration");
    }

    [Fact]
    public async Task Registrations_SurviveAnEdgeRestart()
    {
        await using var redis = await RedisServer.StartAsync();
        using var connection = await RedisStores.ConnectAsync(redis);
        var prefix = RedisStores.UniquePrefix();
        await using (var first = await EdgeHost.StartAsync(RedisStores.Create(connection, prefix)))
        {
            await CrnpTestClient.RegisterAsync(first.Endpoint, AddClient(8100, Membership));
        }

        using var again = await RedisStores.ConnectAsync(redis);
        await using var second = await EdgeHost.StartAsync(RedisStores.Create(again, prefix));
        var reply = await CrnpTestClient.RegisterAsync(second.Endpoint, AddEvents(8100, RgState("x")));

        Assert.Equal(StatusCode.Ok, reply.Status);
        var client = await RedisStores.Create(again, prefix).GetClientAsync(new CallbackAddress(IPAddress.Loopback, 8100));
        Assert.Equal([Membership, RgState("x")], client!.Types);
    }

    [Fact]
    public async Task RedisDown_RepliesRetry_ChangesNothing_ThenRecovers()
    {
        await using var redis = await RedisServer.StartAsync();
        using var connection = await RedisStores.ConnectAsync(redis);
        var store = RedisStores.Create(connection);
        await using var edge = await EdgeHost.StartAsync(store);

        await redis.StopAsync();
        var whileDown = await CrnpTestClient.RegisterAsync(edge.Endpoint, AddClient(8200, Membership));
        await redis.StartAsync(CancellationToken.None);

        Assert.Equal(StatusCode.Retry, whileDown.Status);
        await Eventually.TrueAsync(async () =>
        {
            try
            {
                return (await store.ListClientsAsync()).Count == 0;
            }
            catch (StoreUnavailableException)
            {
                return false;
            }
        }, "redis is back and holds no half-applied registration");
        await Eventually.TrueAsync(
            async () => (await CrnpTestClient.RegisterAsync(edge.Endpoint, AddClient(8200, Membership))).Status == StatusCode.Ok,
            "registrations succeed again once redis is back");
        Assert.Empty(edge.Logs.Errors());
    }
}
