using System.Globalization;
using CrnpCloud.Core;
using CrnpCloud.Ingest.V1;
using CrnpCloud.Protocol;
using CrnpCloud.Testing;
using Grpc.Core;
using Grpc.Net.Client;

namespace CrnpCloud.EndToEnd.Tests;

/// <summary>
/// Dead letters and replays through real processes (PROTOCOL.md section 11): a client that refuses
/// connections is removed by the delivery pool, its undelivered events are its dead letters, and
/// once it registers again `crnpctl replay --dead-letters` delivers them in order; `crnpctl replay
/// --from SEQ` delivers again the events after SEQ; a SEQ the log no longer holds is refused.
/// </summary>
public sealed class ReplayTests(RedisServerFixture redis) : IClassFixture<RedisServerFixture>
{
    private const string AdminToken = "replay-admin";
    private const string PublishToken = "replay-publish";
    private static readonly EventRegistration Membership = new("EC_Cluster", "ESC_cluster_membership");

    [Fact]
    public async Task DeadLetters_AndReplayFromASequence_AreDeliveredInOrder()
    {
        await using var cluster = await CrnpSystem.StartAsync(SystemOptions.Processes(redis.Server).Set(new Dictionary<string, string>
        {
            ["Crnp__Ingest__AdminTokens"] = AdminToken,
            ["Crnp__Ingest__PublishTokens"] = PublishToken,
            ["Crnp__Store__LogMaxLength"] = "1000",
            // Retries far enough apart that all three events below are queued before the refusing
            // client is removed (200 ms apart, a slow first publish sometimes found it gone already).
            ["Crnp__Delivery__RetryInterval"] = "00:00:01.500",
        }));
        using var channel = GrpcChannel.ForAddress($"http://{cluster.Ingest}");
        var admin = new Admin.AdminClient(channel);
        var ingest = new EventIngest.EventIngestClient(channel);
        var adminHeaders = new Metadata { { "authorization", "Bearer " + AdminToken } };
        var publishHeaders = new Metadata { { "authorization", "Bearer " + PublishToken } };
        var edge = cluster.Edge;

        // A client that refuses connections misses three events and is removed after its retries.
        var address = CrnpTestListener.Refusing();
        Assert.Equal(CrnpCloud.Protocol.StatusCode.Ok, (await CrnpTestClient.RegisterAsync(edge, new CallbackRegistration(RegistrationType.AddClient, address.Port, Membership))).Status);
        var missed = new List<long>();
        for (var i = 1; i <= 3; i++)
        {
            missed.Add((await ingest.PublishAsync(new PublishRequest { Event = Member("m" + i) }, publishHeaders)).Sequence);
        }
        await Eventually.TrueAsync(async () =>
            (await admin.ListClientsAsync(new ListClientsRequest { Removals = 10 }, adminHeaders)).RecentRemovals.Any(r => r.Address == address.ToString()),
            "the delivery pool removed the refusing client");

        // Its events are dead letters, in order; a replay before it is back is refused.
        var listed = await Crnpctl.RunAsync("deadletters", address.ToString(), "--ingest", cluster.Ingest.ToString(), "--token", AdminToken, "--json");
        Assert.True(listed.ExitCode == 0, listed.Errors);
        Assert.Equal(missed.Select(s => $"\"sequence\": \"{s}\""), listed.Output.Split('\n').Select(line => SequenceField(line)));
        var early = await Crnpctl.RunAsync("replay", address.ToString(), "--dead-letters", "--ingest", cluster.Ingest.ToString(), "--token", AdminToken);
        Assert.Equal(2, early.ExitCode);
        Assert.Contains("not registered", early.Errors, StringComparison.Ordinal);

        // Back: registered again, listening, its dead letters replayed behind its first event.
        await using var listener = CrnpTestListener.StartOn(address);
        Assert.Equal(CrnpCloud.Protocol.StatusCode.Ok, (await CrnpTestClient.RegisterAsync(edge, new CallbackRegistration(RegistrationType.AddClient, address.Port, Membership))).Status);
        await listener.WaitForAsync(1);
        var replayed = await Crnpctl.RunAsync("replay", address.ToString(), "--dead-letters", "--ingest", cluster.Ingest.ToString(), "--token", AdminToken);
        Assert.True(replayed.ExitCode == 0, replayed.Errors);
        Assert.Contains("3 dead letter(s) queued again", replayed.Output, StringComparison.Ordinal);
        await listener.WaitForAsync(4);
        Assert.Equal(["m3", "m1", "m2", "m3"], listener.Events.Select(Node));
        var none = await admin.ListDeadLettersAsync(new ListDeadLettersRequest { Address = address.ToString() }, adminHeaders);
        Assert.Empty(none.DeadLetters);

        // Replay from a sequence: the events after it, in order.
        var replayFrom = await Crnpctl.RunAsync("replay", address.ToString(), "--from", missed[0].ToString(CultureInfo.InvariantCulture), "--ingest", cluster.Ingest.ToString(), "--token", AdminToken);
        Assert.True(replayFrom.ExitCode == 0, replayFrom.Errors);
        await listener.WaitForAsync(6);
        Assert.Equal(["m2", "m3"], listener.Events.Skip(4).Select(Node));

        // `events` lists the log; once it has been trimmed, a replay from before it is refused clearly.
        var events = await Crnpctl.RunAsync("events", "--since", "0", "--ingest", cluster.Ingest.ToString(), "--token", AdminToken);
        Assert.True(events.ExitCode == 0, events.Errors);
        Assert.Contains($"#{missed[2]}", events.Output, StringComparison.Ordinal);
        Assert.Contains("EC_Cluster/ESC_cluster_membership  node_list=m3", events.Output, StringComparison.Ordinal);

        // `events --follow` keeps printing what is published after it started, until stopped.
        await using (var follow = Crnpctl.Start("events", "--follow", "--ingest", cluster.Ingest.ToString(), "--token", AdminToken))
        {
            await follow.WaitForAsync(() => follow.Output.Any(l => l.Contains("node_list=m3", StringComparison.Ordinal)), "events --follow printed the log so far");
            var later = (await ingest.PublishAsync(new PublishRequest { Event = Member("after-follow") }, publishHeaders)).Sequence;
            await follow.WaitForAsync(() => follow.Output.Any(l => l.Contains($"#{later}", StringComparison.Ordinal) && l.Contains("node_list=after-follow", StringComparison.Ordinal)),
                "events --follow printed the event published after it started");
            Assert.False(follow.HasExited, follow.Transcript());
        }
        await listener.WaitForAsync(7);
        Assert.Equal("after-follow", Node(listener.Events[6]));
        var filler = await Crnpctl.RunAsync("publish", "--ingest", cluster.Ingest.ToString(), "--token", PublishToken, "--class", "EC_Cluster", "--subclass", "ESC_cluster_rg_state",
            "--nv", "rg_name=filler", "--count", "1300", "--rate", "0", "--json");
        Assert.True(filler.ExitCode == 0, filler.Errors);
        var bounds = await admin.ListEventsAsync(new ListEventsRequest { Max = 1 }, adminHeaders);
        Assert.True(bounds.OldestSequence > missed[0] + 1, $"the log still starts at #{bounds.OldestSequence}");
        var tooOld = await Crnpctl.RunAsync("replay", address.ToString(), "--from", missed[0].ToString(CultureInfo.InvariantCulture), "--ingest", cluster.Ingest.ToString(), "--token", AdminToken);
        Assert.Equal(2, tooOld.ExitCode);
        Assert.Contains($"OutOfRange: the event log no longer holds the events after #{missed[0]}: its oldest event is #{bounds.OldestSequence}", tooOld.Errors, StringComparison.Ordinal);

        // A publish token may not replay.
        var denied = await Assert.ThrowsAsync<RpcException>(async () => await admin.ReplayAsync(new ReplayRequest { Address = address.ToString(), DeadLetters = true }, publishHeaders));
        Assert.Equal(Grpc.Core.StatusCode.PermissionDenied, denied.StatusCode);
        Assert.Equal(7, listener.Events.Count);
    }

    private static Event Member(string node) => new()
    {
        Class = "EC_Cluster",
        Subclass = "ESC_cluster_membership",
        Nvpairs = { new Ingest.V1.NameValue { Name = "node_list", Values = { node } } },
    };

    private static string Node(CrnpEvent e) => e.NameValues.Single(p => p.Name == "node_list").Values[0];

    private static string SequenceField(string jsonLine) =>
        System.Text.RegularExpressions.Regex.Match(jsonLine, "\"sequence\": \"\\d+\"").Value;
}
