using CrnpCloud.Testing;
using Microsoft.Extensions.Time.Testing;

namespace CrnpCloud.Core.Tests;

public sealed class InMemoryHistoryStoreContractTests : HistoryStoreContractTests
{
    private readonly FakeTimeProvider _clock = new();

    protected override Task<ICrnpStore> CreateStoreAsync(int logMaxLength, DeadLetterLimits deadLetters) =>
        Task.FromResult<ICrnpStore>(new InMemoryStore(_clock) { LogMaxLength = logMaxLength, DeadLetters = deadLetters });

    protected override void AdvanceClock(TimeSpan by) => _clock.Advance(by);
}
