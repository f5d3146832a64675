using System.Diagnostics;
using CrnpCloud.Core;
using CrnpCloud.Testing;
using Microsoft.Extensions.DependencyInjection;
using Xunit.Abstractions;

namespace CrnpCloud.Operator.Tests;

public sealed class LeadershipTests(ITestOutputHelper output)
{
    [Fact]
    public async Task TwoInstances_ExactlyOneLeads_TheOtherTakesOverWithinTheLeaseDuration_NeverBothAtOnce()
    {
        await using var kube = await Kube.StartAsync();
        var store = new InMemoryStore();
        var log = new List<(string Who, bool Leading, long At)>();
        var clock = Stopwatch.StartNew();
        // Watched from before each host starts: an instance may win the Lease before StartAsync returns.
        LeadershipState Tracked(string who)
        {
            var state = new LeadershipState();
            state.Changed += leading =>
            {
                lock (log)
                {
                    log.Add((who, leading, clock.ElapsedMilliseconds));
                }
            };
            return state;
        }

        var stateA = Tracked("op-a");
        var a = await kube.StartOperatorAsync(store, "op-a", state: stateA);
        var stateB = Tracked("op-b");
        var b = await kube.StartOperatorAsync(store, "op-b", state: stateB);
        Assert.Same(stateA, a.Services.GetRequiredService<LeadershipState>());

        await Eventually.TrueAsync(() => Task.FromResult(stateA.IsLeading || stateB.IsLeading), "one instance leads");
        var (leader, follower, followerState) = stateA.IsLeading ? (a, "op-b", stateB) : (b, "op-a", stateA);

        // The other one stays a follower while the leader renews (several retry periods).
        kube.Server.Put(Kube.Clients, Kube.Client("probe", "127.0.0.1", 18890));
        await Eventually.TrueAsync(async () => (await store.ListClientsAsync()).Count == 1, "the leader reconciles");
        var holder = (string?)kube.Get(FakeKube.ResourceKind.Leases, "crnp", "crnpcloud-operator")!["spec"]!["holderIdentity"];
        Assert.NotEqual(follower, holder);
        for (var i = 0; i < 10; i++)
        {
            Assert.False(stateA.IsLeading && stateB.IsLeading, "both instances lead");
            Assert.False(followerState.IsLeading, "the follower leads while the leader renews");
            await Task.Delay(200);
        }

        // Stop the leader: the follower takes over within the lease duration (3 s) and reconciles.
        var stopped = clock.ElapsedMilliseconds;
        await leader.StopAsync();
        try
        {
            await Eventually.TrueAsync(() => Task.FromResult(followerState.IsLeading), "the follower takes over", TimeSpan.FromSeconds(10));
        }
        catch (TimeoutException)
        {
            throw new TimeoutException(string.Join("\n", a.Logs.Entries.Concat(b.Logs.Entries).Where(e => e.Category.Contains("Operator", StringComparison.Ordinal)).Select(e => e.Category + " " + e.Message + " " + e.Exception?.Message))
                + "\nREQ " + string.Join(";", kube.Server.Requests.Where(r => r.Resource == "leases").Select(r => r.Verb + r.Status)) + "\nLEASE " + kube.Get(FakeKube.ResourceKind.Leases, "crnp", "crnpcloud-operator")!.ToJsonString());
        }
        var takeover = clock.ElapsedMilliseconds - stopped;
        output.WriteLine($"takeover after a clean stop: {takeover} ms (lease duration 3000 ms, retry period 300 ms)");
        Assert.True(takeover < 3000, $"takeover took {takeover} ms, more than the 3 s lease duration");
        kube.Server.Put(Kube.Clients, Kube.Client("after", "127.0.0.1", 18891));
        await Eventually.TrueAsync(async () => (await store.ListClientsAsync()).Count == 2, "the new leader reconciles");
        Assert.Equal(follower, (string?)kube.Get(FakeKube.ResourceKind.Leases, "crnp", "crnpcloud-operator")!["spec"]!["holderIdentity"]);

        // Leading intervals never overlap: each start comes after the previous leader fully stopped.
        List<(string Who, bool Leading, long At)> events;
        lock (log)
        {
            events = [.. log];
        }
        var current = (string?)null;
        foreach (var (who, leading, _) in events)
        {
            if (leading)
            {
                Assert.Null(current);
                current = who;
            }
            else
            {
                Assert.Equal(current, who);
                current = null;
            }
        }
        Assert.Equal(follower, current);
    }

    [Fact]
    public async Task ALeaderThatCannotRenew_StopsReconcilingBeforeAnotherCanTakeTheLease()
    {
        await using var kube = await Kube.StartAsync();
        var store = new InMemoryStore();
        var a = await kube.StartOperatorAsync(store, "op-a");
        var state = a.Services.GetRequiredService<LeadershipState>();
        await Eventually.TrueAsync(() => Task.FromResult(state.IsLeading), "op-a leads");
        DateTime? stoppedAt = null;
        state.Changed += leading => stoppedAt ??= leading ? null : DateTime.UtcNow;

        // Another holder takes the Lease behind op-a's back (as after a partition): op-a's renewals now
        // find someone else's record. It must stop within the lease duration of its own last renewal,
        // which is when another replica could take the Lease over.
        var lease = kube.Get(FakeKube.ResourceKind.Leases, "crnp", "crnpcloud-operator")!;
        var lastRenew = DateTime.Parse((string)lease["spec"]!["renewTime"]!, System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.AdjustToUniversal);
        lease["spec"]!["holderIdentity"] = "intruder";
        lease["spec"]!["renewTime"] = DateTime.UtcNow.ToString("yyyy-MM-ddTHH:mm:ss.ffffffZ", System.Globalization.CultureInfo.InvariantCulture);
        kube.Server.Put(FakeKube.ResourceKind.Leases, lease);
        // Waited on the event, not on IsLeading: the state flips the flag just before it raises the
        // event, and CI once read stoppedAt in between (null).
        await Eventually.TrueAsync(() => Task.FromResult(stoppedAt is not null), "op-a reports that it stopped leading", TimeSpan.FromSeconds(10));
        var stopped = (stoppedAt!.Value - lastRenew).TotalMilliseconds;
        output.WriteLine($"op-a stopped {stopped:F0} ms after its last renewal (renew deadline 2 s, lease duration 3 s)");
        Assert.True(stopped < 3000, $"op-a stopped {stopped:F0} ms after its last renewal: another replica could hold the Lease after 3 s");

        // Nothing is reconciled while it does not lead.
        kube.Server.Put(Kube.Clients, Kube.Client("ignored", "127.0.0.1", 18892));
        await Task.Delay(1000);
        Assert.False(state.IsLeading && (string?)kube.Get(FakeKube.ResourceKind.Leases, "crnp", "crnpcloud-operator")!["spec"]!["holderIdentity"] == "intruder");
        if (!state.IsLeading)
        {
            Assert.Empty(await store.ListClientsAsync());
        }
    }
}
