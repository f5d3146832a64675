using CrnpCloud.Testing;
using Xunit.Abstractions;

namespace CrnpCloud.EndToEnd.Tests;

/// <summary>
/// Faults under continuous publishing to 50 clients, on real processes and a real redis-server with
/// an fsync per write: kill -9 of delivery workers, edge restart, kill -9 of the edge, ingest restart,
/// kill -9 of the ingest (with publishes in flight), redis-server kill -9 and restart. Afterwards a
/// ledger check: every acknowledged publish reached every client, no client ever went backwards, every
/// registration is still there; duplicates are counted and printed. A publish in flight when the ingest
/// died is not acknowledged (the publisher sends it again, same idempotency key), so it is not owed.
/// </summary>
public sealed class ChaosTests(ITestOutputHelper output)
{
    [Fact]
    public async Task KillsAndRestarts_UnderLoad_LoseNoAcknowledgedEvent_AndNeverGoBackwards()
    {
        await using var rig = await CrnpSystem.StartAsync(SystemOptions.Chaos(clients: 50, workers: 2));
        rig.StartPublishing(TimeSpan.FromMilliseconds(20));

        await rig.WaitForProgressAsync(40, "start");
        await rig.KillWorkerAsync(0);
        await rig.WaitForProgressAsync(40, "kill -9 of a worker");
        await rig.RestartEdgeAsync();
        await rig.WaitForProgressAsync(40, "an edge restart");
        await rig.KillEdgeAsync();
        await rig.WaitForProgressAsync(40, "kill -9 of the edge");
        await rig.RestartIngestAsync();
        await rig.WaitForProgressAsync(40, "an ingest restart");
        await rig.KillIngestAsync();
        await rig.WaitForProgressAsync(40, "kill -9 of the ingest");
        await rig.KillRedisAsync();
        await rig.WaitForProgressAsync(40, "redis-server kill -9 and restart");
        await rig.KillWorkerAsync(1);
        await rig.WaitForProgressAsync(40, "kill -9 of the other worker");

        var report = await rig.StopAndCheckAsync(TimeSpan.FromSeconds(60));
        output.WriteLine(report.ToString());
        Assert.Equal(0, report.Missing);
        Assert.Empty(report.Backwards);
        Assert.Empty(report.Unregistered);
        Assert.Empty(report.Problems);
        Assert.True(report.Acknowledged >= 320, $"{report.Acknowledged} acknowledged");
        Assert.Equal(7, report.Faults);
    }
}
