using CrnpCloud.Core;
using CrnpCloud.Protocol;
using CrnpCloud.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using static CrnpCloud.Edge.Tests.Registrations;

namespace CrnpCloud.Edge.Tests;

public sealed class EdgeFaultTests
{
    [Fact]
    public async Task UnexpectedStoreFault_IsSystemError_AndTheServerKeepsServing()
    {
        var inner = new InMemoryStore();
        var store = new FaultyStore(inner);
        await using var edge = await EdgeHost.StartAsync(inner, configure: b => b.Services.AddSingleton<IRegistrationStore>(store)); // the last registration wins

        store.Fault = new InvalidOperationException("boom");
        var faulted = await CrnpTestClient.RegisterAsync(edge.Endpoint, AddClient(9001));
        store.Fault = null;
        var fine = await CrnpTestClient.RegisterAsync(edge.Endpoint, AddClient(9001));

        Assert.Equal(StatusCode.SystemError, faulted.Status);
        Assert.Equal(StatusCode.Ok, fine.Status);
        Assert.Contains(edge.Logs.Errors(), e => e.Contains("boom", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("Crnp:Edge:AllowHosts", "LOCAL, 10.0.0.0/33", "10.0.0.0/33")]
    [InlineData("Crnp:Edge:DenyHosts", "not-an-ip", "not-an-ip")]
    [InlineData("Crnp:Edge:LocalNetworks", "ALL", "ALL")]
    [InlineData("Crnp:Edge:Port", "70000", "Port")]
    [InlineData("Crnp:Edge:ListenAddress", "anywhere", "anywhere")]
    [InlineData("Crnp:Edge:ClientTimeout", "00:00:00", "ClientTimeout")]
    [InlineData("Crnp:Edge:ClientTimeout", "2h", "ClientTimeout must be between 10ms and 1h")]
    [InlineData("Crnp:Edge:Port", "-1", "Crnp:Edge:Port -1 is not between 0")]
    public async Task BadSettings_StopTheServiceAtStart_WithAClearMessage(string key, string value, string mentioned)
    {
        var failure = await Assert.ThrowsAsync<OptionsValidationException>(() =>
            EdgeHost.StartAsync(new InMemoryStore(), new Dictionary<string, string?> { [key] = value }));

        Assert.Contains(mentioned, failure.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("1m30s", 90_000)]
    [InlineData("250ms", 250)]
    [InlineData("00:01:30", 90_000)]
    public async Task Durations_AreReadKubernetesStyle_AndInTheTimeSpanFormOfEarlierReleases(string value, double ms)
    {
        await using var edge = await EdgeHost.StartAsync(new InMemoryStore(), new Dictionary<string, string?> { ["Crnp:Edge:ClientTimeout"] = value });

        Assert.Equal(ms, edge.Services.GetRequiredService<IOptions<EdgeOptions>>().Value.ClientTimeout.TotalMilliseconds);
    }

    [Fact]
    public async Task ADurationInNeitherForm_StopsTheServiceAtStart_SayingWhatADurationIs()
    {
        var failure = await Assert.ThrowsAnyAsync<InvalidOperationException>(() =>
            EdgeHost.StartAsync(new InMemoryStore(), new Dictionary<string, string?> { ["Crnp:Edge:ClientTimeout"] = "soon" }));

        Assert.Contains("Crnp:Edge:ClientTimeout", failure.ToString(), StringComparison.Ordinal);
        Assert.Contains("'soon' is not a duration: write a number with a unit of ms, s, m or h", failure.ToString(), StringComparison.Ordinal);
    }

    /// <summary>Wraps a real store's registrations and throws a chosen exception while <see cref="Fault"/> is set.</summary>
    private sealed class FaultyStore(IRegistrationStore inner) : IRegistrationStore
    {
        public Exception? Fault { get; set; }

        public Task<RegistrationResult> ApplyAsync(RegistrationChange change, CancellationToken cancellationToken = default) =>
            Fault is { } fault ? Task.FromException<RegistrationResult>(fault) : inner.ApplyAsync(change, cancellationToken);

        public Task<ClientRegistration?> GetClientAsync(CallbackAddress client, CancellationToken cancellationToken = default) => inner.GetClientAsync(client, cancellationToken);

        public Task<IReadOnlyList<ClientRegistration>> ListClientsAsync(CancellationToken cancellationToken = default) => inner.ListClientsAsync(cancellationToken);
    }
}
