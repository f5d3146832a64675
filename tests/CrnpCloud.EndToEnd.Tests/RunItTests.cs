using System.Globalization;
using System.Net.Http;
using System.Text.Json;
using CrnpCloud.Testing;

namespace CrnpCloud.EndToEnd.Tests;

/// <summary>
/// The README walkthrough as a test: `crnpctl listen` registers with the edge as a real CRNP client,
/// `crnpctl publish` sends events through the ingest, the delivery pool delivers them in order, the
/// admin commands show the client, and Ctrl-C unregisters it. On separate processes over Redis and
/// on the all-in-one host.
/// </summary>
public sealed class RunItTests(RedisServerFixture redis) : IClassFixture<RedisServerFixture>
{
    private const int Events = 40;

    [Fact]
    public Task SeparateProcesses_OnRedis() => WalkthroughAsync(SystemOptions.Processes(redis.Server));

    [Fact]
    public Task AllInOne_OnItsInMemoryStore() => WalkthroughAsync(SystemOptions.AllInOneHost());

    private static async Task WalkthroughAsync(SystemOptions options)
    {
        await using var cluster = await CrnpSystem.StartAsync(options);
        await using var listen = Crnpctl.Start("listen", "--server", cluster.Edge.ToString(), "--port", "0", "--events", "EC_Cluster/ESC_cluster_membership", "--json");
        await listen.WaitForAsync(() => listen.Errors.Any(l => l.StartsWith("registered (port", StringComparison.Ordinal)), "crnpctl listen registered");

        var publish = await Crnpctl.RunAsync("publish", "--ingest", cluster.Ingest.ToString(), "--class", "EC_Cluster", "--subclass", "ESC_cluster_membership",
            "--nv", "node_list=node1,node2", "--nv", "state_list=1,1", "--count", Events.ToString(CultureInfo.InvariantCulture), "--json");
        Assert.True(publish.ExitCode == 0, publish.Errors);
        using (var summary = JsonDocument.Parse(publish.Output))
        {
            Assert.Equal(Events, summary.RootElement.GetProperty("published").GetInt32());
            Assert.Equal(Events, summary.RootElement.GetProperty("queued").GetInt32());
        }

        await listen.WaitForAsync(() => listen.Output.Count >= Events, $"{Events} events printed by crnpctl listen");
        var printed = listen.Output.Select(line => JsonDocument.Parse(line).RootElement).ToList();
        Assert.Equal(Enumerable.Range(0, Events).Select(i => i.ToString(CultureInfo.InvariantCulture)), printed.Select(e => Value(e, "ev_seq")));
        Assert.All(printed, e => Assert.Equal(("EC_Cluster", "ESC_cluster_membership", "SUNW", "rgm", "node1,node2"),
            (e.GetProperty("class").GetString(), e.GetProperty("subclass").GetString(), e.GetProperty("vendor").GetString(), e.GetProperty("publisher").GetString(), Value(e, "node_list"))));

        // The admin view: one client, nothing left to deliver, a delivery recorded.
        var clients = await Crnpctl.RunAsync("clients", "--ingest", cluster.Ingest.ToString(), "--json");
        Assert.True(clients.ExitCode == 0, clients.Errors);
        using (var list = JsonDocument.Parse(clients.Output))
        {
            var client = Assert.Single(list.RootElement.GetProperty("clients").EnumerateArray());
            Assert.StartsWith("127.0.0.1:", client.GetProperty("address").GetString(), StringComparison.Ordinal);
            Assert.Equal("0", client.GetProperty("backlog").GetString());
            Assert.NotEqual(JsonValueKind.Null, client.GetProperty("lastDelivery").ValueKind);
        }

        // Every process is live and ready, and its metrics are scrapeable.
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        foreach (var (_, process) in cluster.Processes)
        {
            var port = await process.PortOfAsync("http");
            Assert.Equal("Healthy", await http.GetStringAsync($"http://127.0.0.1:{port}/healthz"));
            Assert.Equal("Healthy", await http.GetStringAsync($"http://127.0.0.1:{port}/readyz"));
        }
        var delivered = await Task.WhenAll(cluster.Processes.Select(async p => await http.GetStringAsync($"http://127.0.0.1:{await p.Process.PortOfAsync("http")}/metrics")));
        Assert.Contains(delivered, text => text.Contains("crnp_delivery_attempts", StringComparison.Ordinal));

        // Ctrl-C: it unregisters and exits 0; the server forgets it.
        await listen.SignalAsync("INT");
        Assert.Equal(0, await listen.WaitForExitAsync());
        Assert.Contains(listen.Errors, l => l.StartsWith("unregistered: OK", StringComparison.Ordinal));
        var after = await Crnpctl.RunAsync("clients", "--ingest", cluster.Ingest.ToString(), "--json");
        using var empty = JsonDocument.Parse(after.Output);
        Assert.False(empty.RootElement.TryGetProperty("clients", out var left) && left.GetArrayLength() > 0, after.Output);
    }

    private static string Value(JsonElement evt, string name) =>
        string.Join(",", evt.GetProperty("nvpairs").EnumerateArray().Single(p => p.GetProperty("name").GetString() == name)
            .GetProperty("values").EnumerateArray().Select(v => v.GetString()));
}
