using System.Globalization;
using CrnpCloud.Ingest.V1;
using CrnpCloud.Testing;
using Grpc.Net.Client;
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
        await using var rig = await ChaosRig.StartAsync(clients: 50, workers: 2);
        using var publisher = new Publisher();
        rig.StartPublishing(publisher.PublishAsync, TimeSpan.FromMilliseconds(20));

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

    /// <summary>Publishes event n through the ingest on its current port, under an idempotency key of n.</summary>
    internal sealed class Publisher : IDisposable
    {
        private GrpcChannel? _channel;
        private int _port;

        public async Task PublishAsync(int port, int n, CancellationToken cancellationToken)
        {
            if (_channel is null || _port != port)
            {
                _channel?.Dispose();
                _channel = GrpcChannel.ForAddress($"http://127.0.0.1:{port}");
                _port = port;
            }
            var text = n.ToString(CultureInfo.InvariantCulture);
            var request = new PublishRequest
            {
                Event = new Event { Class = "EC_Cluster", Subclass = "ESC_cluster_membership" },
                IdempotencyKey = "chaos-" + text,
            };
            request.Event.Nvpairs.Add(new Ingest.V1.NameValue { Name = "node_list", Values = { "n1", "n2" } });
            request.Event.Nvpairs.Add(new Ingest.V1.NameValue { Name = "state_list", Values = { text, "-1" } });
            await new EventIngest.EventIngestClient(_channel).PublishAsync(request, deadline: DateTime.UtcNow.AddSeconds(3), cancellationToken: cancellationToken);
        }

        public void Dispose() => _channel?.Dispose();
    }
}
