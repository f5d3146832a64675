using System.Net;
using CrnpCloud.Protocol;
using Microsoft.Extensions.Time.Testing;

namespace CrnpCloud.Core.Tests;

public sealed class InMemoryStoreTests
{
    private static readonly CrnpEvent Membership = new("EC_Cluster", "ESC_cluster_membership", "SUNW", "rgm", new NameValue("node_list", "n1"), new NameValue("state_list", "1"));

    [Fact]
    public async Task IdempotencyKey_AfterItsWindow_PublishesAgain()
    {
        var clock = new FakeTimeProvider();
        var store = new InMemoryStore(clock);
        var options = new PublishOptions(IdempotencyKey: "k", IdempotencyWindow: TimeSpan.FromSeconds(30));

        var first = await store.PublishAsync(Membership, options);
        clock.Advance(TimeSpan.FromSeconds(29));
        var within = await store.PublishAsync(Membership, options);
        clock.Advance(TimeSpan.FromSeconds(2));
        var after = await store.PublishAsync(Membership, options);

        Assert.True(within.Duplicate);
        Assert.False(after.Duplicate);
        Assert.True(after.Event.Sequence > first.Event.Sequence);
    }

    [Fact]
    public async Task PublishedAt_ComesFromTheTimeProvider()
    {
        var clock = new FakeTimeProvider(new DateTimeOffset(2026, 11, 22, 12, 0, 0, TimeSpan.Zero));
        var store = new InMemoryStore(clock);
        await store.ApplyAsync(new RegistrationChange(RegistrationType.AddClient, new CallbackAddress(IPAddress.Loopback, 1),
            EquatableList.Of(new EventRegistration("EC_Cluster")), RegistrationLimits.Default));

        var result = await store.PublishAsync(Membership);

        Assert.Equal(clock.GetUtcNow(), result.Event.PublishedAt);
    }
}
