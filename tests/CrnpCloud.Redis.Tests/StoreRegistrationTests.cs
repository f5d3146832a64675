using CrnpCloud.Core;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace CrnpCloud.Redis.Tests;

/// <summary>
/// Without <c>Crnp:Store:Redis</c> the services run on the embedded store, with the retention settings
/// of section <c>Crnp:Store</c>; whichever store, one instance answers every role, registered once.
/// </summary>
public sealed class StoreRegistrationTests
{
    [Fact]
    public void WithoutRedis_TheEmbeddedStore_KeepsTheConfiguredLogAndDeadLetters()
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Crnp:Store:LogMaxLength"] = "2000",
            ["Crnp:Store:DeadLetterMaxCount"] = "7",
            ["Crnp:Store:DeadLetterMaxAge"] = "01:00:00",
            ["Crnp:Store:Partitions"] = "16",
        });
        builder.AddCrnpRedisStore();
        using var host = builder.Build();

        var store = Assert.IsType<InMemoryStore>(host.Services.GetRequiredService<ICrnpStore>());

        Assert.Equal((2000, 7, TimeSpan.FromHours(1), 16),
            (store.LogMaxLength, store.DeadLetters.DeadLetterMaxCount, store.DeadLetters.DeadLetterMaxAge, store.Partitions));
    }

    [Fact]
    public void WithoutRedis_AnOutOfRangeRetention_IsRefusedAtStart()
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?> { ["Crnp:Store:DeadLetterMaxCount"] = "0" });
        builder.AddCrnpRedisStore();
        using var host = builder.Build();

        var error = Assert.Throws<OptionsValidationException>(() => host.Services.GetRequiredService<ICrnpStore>());
        Assert.Contains("DeadLetterMaxCount", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void EveryRole_IsTheOneStoreInstance()
    {
        var builder = Host.CreateApplicationBuilder();
        builder.AddCrnpMemoryStore();
        using var host = builder.Build();

        var store = host.Services.GetRequiredService<ICrnpStore>();

        var roles = typeof(ICrnpStore).GetInterfaces();
        Assert.Contains(typeof(IRegistrationStore), roles);
        Assert.Contains(typeof(IDeliveryStore), roles);
        Assert.All(roles, role => Assert.Same(store, host.Services.GetRequiredService(role)));
    }

    [Fact]
    public void ASecondStoreRegistration_IsRefused()
    {
        var builder = Host.CreateApplicationBuilder();
        builder.AddCrnpMemoryStore();

        var error = Assert.Throws<InvalidOperationException>(() => builder.AddCrnpRedisStore());
        Assert.Contains("already registered", error.Message, StringComparison.Ordinal);
    }
}
