using System.Collections.Concurrent;
using System.Net;
using CrnpCloud.Core;

namespace CrnpCloud.Delivery.Tests;

/// <summary>Group commit of acks (issue 17): one store call in flight, the acks that arrive meanwhile go together next.</summary>
public sealed class AckCommitterTests
{
    private static readonly Lease Lease = new(0, 1);

    private static CallbackAddress Client(int port) => new(IPAddress.Loopback, port);

    private static IReadOnlyList<AckReply> Answer(IReadOnlyList<AckRequest> acks) =>
        [.. acks.Select(a => new AckReply(a.EntryId == "gone" ? AckResult.AlreadyGone : AckResult.Done, QueueEmpty: a.Client.Port % 2 == 0))];

    [Fact]
    public async Task ALoneAck_GoesAtOnce_InACallOfItsOwn()
    {
        var calls = new ConcurrentQueue<int>();
        var committer = new AckCommitter(acks =>
        {
            calls.Enqueue(acks.Count);
            return Task.FromResult(Answer(acks));
        });

        Assert.Equal(new AckReply(AckResult.Done, QueueEmpty: true), await committer.AckAsync(Client(2), "e", Lease));
        Assert.Equal(new AckReply(AckResult.AlreadyGone, QueueEmpty: false), await committer.AckAsync(Client(3), "gone", Lease));
        Assert.Equal([1, 1], calls);
    }

    [Fact]
    public async Task AcksArrivingWhileACallIsInFlight_GoTogetherInTheNext_InBatchesOfAtMostMaxBatch_EachGettingItsOwnReply()
    {
        var calls = new ConcurrentQueue<string[]>();
        var hold = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var committer = new AckCommitter(async acks =>
        {
            calls.Enqueue([.. acks.Select(a => a.EntryId)]);
            if (calls.Count == 1)
            {
                await hold.Task;
            }
            return Answer(acks);
        });

        var first = committer.AckAsync(Client(1), "first", Lease);
        var waiting = Enumerable.Range(2, AckCommitter.MaxBatch + 10).Select(i => committer.AckAsync(Client(i), i == 7 ? "gone" : $"e{i}", Lease)).ToList();
        Assert.False(first.IsCompleted);
        Assert.All(waiting, w => Assert.False(w.IsCompleted));
        hold.SetResult();
        var replies = await Task.WhenAll(waiting.Prepend(first));

        Assert.Equal([1, AckCommitter.MaxBatch, 10], calls.Select(c => c.Length));
        Assert.Equal(["first", .. Enumerable.Range(2, AckCommitter.MaxBatch + 10).Select(i => i == 7 ? "gone" : $"e{i}")], calls.SelectMany(c => c));
        for (var i = 0; i < replies.Length; i++)
        {
            var port = i + 1;
            Assert.Equal(new AckReply(port == 7 ? AckResult.AlreadyGone : AckResult.Done, port % 2 == 0), replies[i]);
        }
    }

    [Fact]
    public async Task AFailedCall_FailsEveryAckInIt_AndTheNextAckStillGoes()
    {
        var calls = 0;
        var hold = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var committer = new AckCommitter(async acks =>
        {
            switch (Interlocked.Increment(ref calls))
            {
                case 1:
                    await hold.Task;
                    return Answer(acks);
                case 2:
                    throw new StoreUnavailableException("the store went away");
                default:
                    return Answer(acks);
            }
        });

        var first = committer.AckAsync(Client(1), "e1", Lease);
        var second = committer.AckAsync(Client(2), "e2", Lease);
        var third = committer.AckAsync(Client(3), "e3", Lease);
        hold.SetResult();

        Assert.Equal(AckResult.Done, (await first).Result);
        await Assert.ThrowsAsync<StoreUnavailableException>(() => second);
        await Assert.ThrowsAsync<StoreUnavailableException>(() => third);
        Assert.Equal(AckResult.Done, (await committer.AckAsync(Client(4), "e4", Lease)).Result);
        Assert.Equal(3, calls);
    }
}
