using System.Net;
using CrnpCloud.Core;
using CrnpCloud.Protocol;
using CrnpCloud.Testing;
using StackExchange.Redis;

namespace CrnpCloud.Redis.Tests;

/// <summary>Queue entries reference one stored payload per event; it lives exactly as long as some entry references it.</summary>
public sealed class RedisPayloadTests(RedisServerFixture redis) : IClassFixture<RedisServerFixture>, IAsyncLifetime
{
    private static readonly EventRegistration Membership = new("EC_Cluster", "ESC_cluster_membership");
    private static readonly CrnpEvent Event = new("EC_Cluster", "ESC_cluster_membership", "SUNW", "rgm", new NameValue("node_list", "n1"), new NameValue("state_list", "1"));
    private IConnectionMultiplexer _connection = null!;
    private string _prefix = null!;
    private RedisStore _store = null!;

    public async Task InitializeAsync()
    {
        _connection = await RedisStores.ConnectAsync(redis.Server);
        _prefix = RedisStores.UniquePrefix();
        _store = RedisStores.Create(_connection, _prefix);
    }

    public async Task DisposeAsync() => await _connection.DisposeAsync();

    private static CallbackAddress Client(int port) => new(IPAddress.Loopback, port);

    private async Task Register(int port, RegistrationType type = RegistrationType.AddClient) =>
        await _store.ApplyAsync(new RegistrationChange(type, Client(port), EquatableList.Of(Membership), RegistrationLimits.Default));

    private async Task<(long Payloads, long Refs)> Stored()
    {
        var db = _connection.GetDatabase();
        var server = _connection.GetServer(redis.Server.ConnectionString);
        var payloads = 0L;
        await foreach (var _ in server.KeysAsync(pattern: $"{_prefix}{{default}}:ev:*"))
        {
            payloads++;
        }
        return (payloads, await db.HashLengthAsync($"{_prefix}{{default}}:refs"));
    }

    [Fact]
    public async Task Payload_IsStoredOnce_AndDroppedWithTheLastAck()
    {
        await Register(1);
        await Register(2);
        await _store.PublishAsync(Event);

        Assert.Equal((1, 1), await Stored());
        var first = (await _store.PeekQueueAsync(Client(1), 1)).Single();
        Assert.True(await _store.AckLeasedAsync(Client(1), first.EntryId));
        Assert.Equal((1, 1), await Stored());
        var second = (await _store.PeekQueueAsync(Client(2), 1)).Single();
        Assert.Equal(Event, second.Event.Event);
        Assert.True(await _store.AckLeasedAsync(Client(2), second.EntryId));
        Assert.Equal((0, 0), await Stored());
    }

    [Fact]
    public async Task RemovingOrReplacingAClient_ReleasesItsReferences()
    {
        await Register(1);
        await Register(2);
        await _store.PublishAsync(Event);
        await _store.PublishAsync(Event with { NameValues = EquatableList.Of(new NameValue("node_list", "n1"), new NameValue("state_list", "2")) });
        Assert.Equal((2, 2), await Stored());

        await Register(1, RegistrationType.RemoveClient);
        Assert.Equal((2, 2), await Stored());

        // A replacing ADD_CLIENT empties the queue, then queues the current state as a first event.
        await Register(2);
        Assert.Equal((1, 1), await Stored());
        var entry = (await _store.PeekQueueAsync(Client(2), 10)).Single();
        Assert.Equal(QueueEntryKind.FirstEvent, entry.Kind);
        Assert.True(await _store.AckLeasedAsync(Client(2), entry.EntryId));
        Assert.Equal((0, 0), await Stored());
    }

    [Fact]
    public async Task EventWithNoMatchingClient_StoresNoPayload()
    {
        await _store.PublishAsync(Event);

        Assert.Equal((0, 0), await Stored());
        Assert.Single(await _store.GetLatestAsync());
    }
}
