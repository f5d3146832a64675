using CrnpCloud.Testing;
using Microsoft.Extensions.Time.Testing;

namespace CrnpCloud.Core.Tests;

public sealed class InMemoryDeliveryStoreContractTests : DeliveryStoreContractTests
{
    private readonly FakeTimeProvider _clock = new();

    protected override Task<ICrnpStore> CreateStoreAsync() => Task.FromResult<ICrnpStore>(new InMemoryStore(_clock));

    protected override void AdvanceClock(TimeSpan by) => _clock.Advance(by);
}
