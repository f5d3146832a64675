using CrnpCloud.Testing;

namespace CrnpCloud.Core.Tests;

public sealed class InMemoryStoreContractTests : StoreContractTests
{
    protected override Task<ICrnpStore> CreateStoreAsync() => Task.FromResult<ICrnpStore>(new InMemoryStore());
}
