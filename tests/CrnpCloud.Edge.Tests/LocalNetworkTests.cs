using System.Net;
using CrnpCloud.Core;
using CrnpCloud.Protocol;
using CrnpCloud.Testing;
using Microsoft.Extensions.DependencyInjection;
using static CrnpCloud.Edge.Tests.Registrations;

namespace CrnpCloud.Edge.Tests;

/// <summary>
/// LOCAL = this host's interface networks + Crnp:Edge:LocalNetworks + the cluster networks in the live
/// settings. On loopback every 127.x source is an interface network, so these edges count no
/// interface network at all (the one thing replaced): what remains local is exactly what is
/// configured and published, over real TCP from chosen 127.x source addresses.
/// </summary>
public sealed class LocalNetworkTests
{
    private static Task<EdgeHost> StartWithoutInterfaceNetworksAsync(ICrnpStore store, IDictionary<string, string?> settings) =>
        EdgeHost.StartAsync(store, settings, b => b.Services.AddSingleton(new InterfaceNetworks(() => [])));

    private static async Task<StatusCode> RegisterFromAsync(EdgeHost edge, string source, int port = 7801) =>
        (await CrnpTestClient.RegisterAsync(edge.Endpoint, AddClient(port, Membership), IPAddress.Parse(source))).Status;

    [Fact]
    public async Task ClusterNetworks_InTheLiveSettings_CountAsLocal_AndStopCounting_WithoutARestart()
    {
        var store = new InMemoryStore();
        await using var edge = await StartWithoutInterfaceNetworksAsync(store, new Dictionary<string, string?>
        {
            ["Crnp:Settings:RefreshInterval"] = "00:00:00.100",
            ["Crnp:Edge:LocalNetworks"] = "127.0.0.64/28",
        });

        var beforeCluster = await RegisterFromAsync(edge, "127.0.0.20");
        var configured = await RegisterFromAsync(edge, "127.0.0.70");
        await store.SetClusterNetworksAsync(["127.0.0.16/28", "not-a-network", "127.0.0.40/32"]);
        await Eventually.TrueAsync(async () => await RegisterFromAsync(edge, "127.0.0.20") == StatusCode.Ok, "a source in a published pod CIDR registers");
        var hostRoute = await RegisterFromAsync(edge, "127.0.0.40");
        var outside = await RegisterFromAsync(edge, "127.0.0.50");
        var stillConfigured = await RegisterFromAsync(edge, "127.0.0.70", 7802);

        await store.SetClusterNetworksAsync(["127.0.0.40/32"]);
        await Eventually.TrueAsync(async () => await RegisterFromAsync(edge, "127.0.0.21", 7803) == StatusCode.Fail, "a withdrawn pod CIDR no longer counts");

        Assert.Equal(StatusCode.Fail, beforeCluster);
        Assert.Equal(StatusCode.Ok, configured);
        Assert.Equal(StatusCode.Ok, hostRoute);
        Assert.Equal(StatusCode.Fail, outside);
        Assert.Equal(StatusCode.Ok, stillConfigured);
        Assert.Equal(StatusCode.Ok, await RegisterFromAsync(edge, "127.0.0.40", 7804));
        Assert.Contains(edge.Logs.Entries, e => e.Message.Contains("LOCAL now includes 2 cluster network(s) from the live settings: 127.0.0.16/28,127.0.0.40/32", StringComparison.Ordinal));
    }

    [Fact]
    public async Task ClusterNetworks_AreLocal_InDenyHostsToo()
    {
        var store = new InMemoryStore();
        await store.SetClusterNetworksAsync(["127.0.0.16/28"]);
        await using var edge = await StartWithoutInterfaceNetworksAsync(store, new Dictionary<string, string?>
        {
            ["Crnp:Settings:RefreshInterval"] = "00:00:00.100",
            ["Crnp:Edge:AllowHosts"] = "ALL",
            ["Crnp:Edge:DenyHosts"] = "LOCAL",
        });

        await Eventually.TrueAsync(async () => await RegisterFromAsync(edge, "127.0.0.20") == StatusCode.Fail, "LOCAL in DenyHosts covers the cluster network");

        Assert.Equal(StatusCode.Ok, await RegisterFromAsync(edge, "127.0.0.50"));
    }
}
