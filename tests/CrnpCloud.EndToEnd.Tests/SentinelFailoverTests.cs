using System.Diagnostics;
using System.Globalization;
using CrnpCloud.Testing;
using Xunit.Abstractions;

namespace CrnpCloud.EndToEnd.Tests;

/// <summary>
/// Redis master failover under load, with a ledger (issue 16; ARCHITECTURE.md invariant 7): a real
/// Sentinel topology (master + 2 replicas + 3 Sentinels, down-after 2 s), the services as processes
/// connected through the Sentinels, 20 clients registered through the edge, events published at
/// 100 per second. After the fault the ledger says: every acknowledged event reached every client, in
/// publish order (duplicates counted), every registration answered OK before the fault still exists.
/// Printed: the publish unavailability window, duplicates, resync events, lost acknowledged events.
/// </summary>
public sealed class SentinelFailoverTests(ITestOutputHelper output)
{
    private const int Clients = 20;
    private const double Rate = 100;

    [Fact]
    public async Task KillOfTheMaster_WithMinReplicas1_LosesNoAcknowledgedEvent_AndResyncsFromTheNewMaster()
    {
        var result = await RunAsync("kill -9 of the master", minReplicas: 1, async (sentinel, master) =>
        {
            await sentinel.KillAsync(master);
            var promoted = await sentinel.WaitForNewMasterAsync(master, TimeSpan.FromSeconds(40));
            await sentinel.RestartAsync(master);
            return promoted;
        });

        AssertNothingAcknowledgedLost(result);
        Assert.True(result.Resyncs.Partitions > 0, "the workers resynced their partitions from the new store instance");
    }

    [Fact]
    public async Task MasterStoppedFor10Seconds_WithMinReplicas1_LosesNothingAcknowledged_AndNeverMisorders()
    {
        var result = await RunAsync("SIGSTOP of the master for 10 s", minReplicas: 1, StopMasterFor10Seconds);

        AssertNothingAcknowledgedLost(result);
    }

    /// <summary>The same partition without replicas required: reported, not asserted (asynchronous replication may lose the last writes).</summary>
    [Fact]
    public async Task MasterStoppedFor10Seconds_WithMinReplicas0_ReportsWhatWasLost()
    {
        var result = await RunAsync("SIGSTOP of the master for 10 s", minReplicas: 0, StopMasterFor10Seconds, recovery: TimeSpan.FromSeconds(20));

        Assert.True(result.Report.Acknowledged > 0);
    }

    private static async Task<int> StopMasterFor10Seconds(RedisSentinel sentinel, int master)
    {
        sentinel.Stop(master);
        int promoted;
        try
        {
            promoted = await sentinel.WaitForNewMasterAsync(master, TimeSpan.FromSeconds(40));
            // The partition lasts 10 s whatever the Sentinels did meanwhile: a fixed fault, not a wait on a condition.
            await Task.Delay(TimeSpan.FromSeconds(10) - sentinel.DownAfter);
        }
        finally
        {
            sentinel.Continue(master);
        }
        await sentinel.WaitHealthyAsync(2, TimeSpan.FromSeconds(40));
        Assert.Equal("slave", await sentinel.RoleAsync(master));
        return promoted;
    }

    private async Task<Result> RunAsync(string fault, int minReplicas, Func<RedisSentinel, int, Task<int>> inject, TimeSpan? recovery = null)
    {
        await using var sentinel = await RedisSentinel.StartAsync();
        var settings = new Dictionary<string, string>
        {
            ["Crnp__Store__MinReplicas"] = minReplicas.ToString(CultureInfo.InvariantCulture),
            ["Crnp__Store__ReplicationTimeout"] = "00:00:01",
        };
        await using var rig = await CrnpSystem.StartAsync((SystemOptions.Chaos(Clients, workers: 2) with { Store = sentinel.ConnectionString }).Set(settings));
        rig.StartPublishingAt(Rate);
        await rig.WaitForProgressAsync(100, "start");

        var master = await sentinel.MasterPortAsync();
        var faultAt = Stopwatch.GetTimestamp();
        var promoted = await inject(sentinel, master);
        var failedOver = Stopwatch.GetElapsedTime(faultAt);
        await rig.WaitForProgressAsync(100, fault);

        var report = await rig.StopAndCheckAsync(recovery ?? TimeSpan.FromSeconds(60));
        var result = new Result(report, rig.LongestAcknowledgementGap(faultAt), rig.Resyncs());
        foreach (var line in new[]
        {
            $"{fault}, MinReplicas={minReplicas}: master {master} -> {promoted} (fault handled in {failedOver.TotalSeconds:F1} s)",
            $"publish unavailability window: {result.Window.TotalSeconds:F2} s",
            $"duplicates: {report.Duplicates}; resync: {result.Resyncs.Partitions} partitions, {result.Resyncs.Events} events queued",
            $"lost acknowledged events: {report.LostEvents} (missing deliveries {report.Missing}); out of order: {report.Backwards.Count}",
            report.ToString(),
        })
        {
            output.WriteLine(line);
            Console.WriteLine("[failover] " + line);
        }
        return result;
    }

    private static void AssertNothingAcknowledgedLost(Result result)
    {
        Assert.Equal(0, result.Report.Missing);
        Assert.Empty(result.Report.Backwards);
        Assert.Empty(result.Report.Unregistered);
        Assert.Empty(result.Report.Problems);
    }

    private sealed record Result(CrnpSystem.Report Report, TimeSpan Window, (int Partitions, int Events) Resyncs);
}
