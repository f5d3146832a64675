using CrnpCloud.Testing;

namespace CrnpCloud.EndToEnd.Tests;

/// <summary>
/// crnpctl and the all-in-one host given bad arguments, an unreachable server or a refusal: one
/// clear line on stderr and the documented exit code (2 bad arguments or refused, 3 unreachable).
/// </summary>
public sealed class CliErrorTests
{
    private static string Nobody => "127.0.0.1:" + RedisServer.FreePort().ToString(System.Globalization.CultureInfo.InvariantCulture);

    [Fact]
    public async Task BadArguments_AreRefusedWithTheirReason()
    {
        var noClass = await Crnpctl.RunAsync("listen", "--server", Nobody, "--events", "/ESC_cluster_membership");
        var badPair = await Crnpctl.RunAsync("listen", "--server", Nobody, "--events", "EC_Cluster?rg_name");
        var badServer = await Crnpctl.RunAsync("listen", "--server", "host:99999", "--events", "EC_Cluster");
        var badNv = await Crnpctl.RunAsync("publish", "--ingest", Nobody, "--class", "EC_Cluster", "--subclass", "s", "--nv", "novalue");
        var badCount = await Crnpctl.RunAsync("publish", "--ingest", Nobody, "--class", "EC_Cluster", "--subclass", "s", "--count", "0");
        var unknownOption = await Crnpctl.RunAsync("publish", "--klass", "EC_Cluster");
        var badStore = await RunAllInOneAsync("--store", "mysql://db");

        Assert.Equal((2, true), (noClass.ExitCode, noClass.Errors.Contains("--events: '/ESC_cluster_membership': no event class", StringComparison.Ordinal)));
        Assert.Equal((2, true), (badPair.ExitCode, badPair.Errors.Contains("'rg_name' is not name=value", StringComparison.Ordinal)));
        Assert.Equal((2, true), (badServer.ExitCode, badServer.Errors.Contains("--server: 'host:99999'", StringComparison.Ordinal)));
        Assert.Equal((2, true), (badNv.ExitCode, badNv.Errors.Contains("--nv: 'novalue' is not name=value", StringComparison.Ordinal)));
        Assert.Equal((2, true), (badCount.ExitCode, badCount.Errors.Contains("--count: at least 1", StringComparison.Ordinal)));
        Assert.Equal((2, true), (unknownOption.ExitCode, unknownOption.Errors.Contains("--klass", StringComparison.Ordinal)));
        Assert.NotEqual(0, badStore.ExitCode);
        Assert.Contains("--store: 'mysql://db' is neither 'memory' nor a redis:// URL", badStore.Errors, StringComparison.Ordinal);
    }

    [Fact]
    public async Task UnreachableServers_AreNamed_WithExitCode3()
    {
        var edge = Nobody;
        var ingest = Nobody;

        var listen = await Crnpctl.RunAsync("listen", "--server", edge, "--events", "EC_Cluster");
        var publish = await Crnpctl.RunAsync("publish", "--ingest", ingest, "--class", "EC_Cluster", "--subclass", "s");
        var clients = await Crnpctl.RunAsync("clients", "--ingest", ingest);

        Assert.Equal((3, true), (listen.ExitCode, listen.Errors.Contains($"cannot reach the CRNP server at {edge}", StringComparison.Ordinal)));
        Assert.Equal((3, true), (publish.ExitCode, publish.Errors.Contains($"cannot reach the ingest at {ingest}", StringComparison.Ordinal)));
        Assert.Equal((3, true), (clients.ExitCode, clients.Errors.Contains($"cannot reach the ingest at {ingest}", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task Refusals_ShowTheServersStatusAndMessage_WithExitCode2()
    {
        await using var cluster = await CrnpSystem.StartAsync(SystemOptions.AllInOneHost().Set(new Dictionary<string, string> { ["Crnp__Edge__DenyHosts"] = "127.0.0.1" }));

        var listen = await Crnpctl.RunAsync("listen", "--server", cluster.Edge.ToString(), "--events", "EC_Cluster");
        var publish = await Crnpctl.RunAsync("publish", "--ingest", cluster.Ingest.ToString(), "--class", " ", "--subclass", "s");
        var client = await Crnpctl.RunAsync("client", "10.9.9.9:1", "--ingest", cluster.Ingest.ToString());

        Assert.Equal((2, true), (listen.ExitCode, listen.Errors.Contains("registration refused: FAIL:", StringComparison.Ordinal)));
        Assert.Equal((2, true), (publish.ExitCode, publish.Errors.Contains("InvalidArgument: event.class", StringComparison.Ordinal)));
        Assert.Equal((2, true), (client.ExitCode, client.Errors.Contains("NotFound: client 10.9.9.9:1 is not registered", StringComparison.Ordinal)));
        Assert.False(cluster.Processes[0].Process.HasExited);
    }

    private static async Task<(int ExitCode, string Errors)> RunAllInOneAsync(params string[] arguments)
    {
        await using var host = ServiceProcess.Start("CrnpCloud.AllInOne", "CrnpCloud.AllInOne", arguments, new Dictionary<string, string>());
        var code = await host.WaitForExitAsync();
        return (code, string.Join("\n", host.Errors));
    }
}
