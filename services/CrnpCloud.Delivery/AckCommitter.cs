using System.Collections.Concurrent;
using CrnpCloud.Core;

namespace CrnpCloud.Delivery;

/// <summary>
/// Commits the acks of all of a worker's clients together (group commit). Each client's loop still
/// waits for its own ack before its next delivery, so a crash can never make the next owner send an
/// entry again after a newer one. But at most one store call is in flight: acks that arrive meanwhile
/// wait for it and go together in the next one, so under load the store sees one script call per
/// batch instead of one per delivery, and a lone ack goes at once, on its caller's own call.
/// </summary>
internal sealed class AckCommitter(Func<IReadOnlyList<AckRequest>, Task<IReadOnlyList<AckReply>>> commit, DeliveryTelemetry? telemetry = null)
{
    /// <summary>Most acks in one store call (each is a few commands inside one script run).</summary>
    public const int MaxBatch = 64;

    private readonly ConcurrentQueue<Pending> _queue = new();
    private int _committing;

    public AckCommitter(IDeliveryStore store, DeliveryTelemetry telemetry)
        : this(acks => store.AckManyAsync(acks, CancellationToken.None), telemetry)
    {
    }

    /// <summary>Acks one delivered entry; answered as the store answers it (or throws as the store call threw).</summary>
    public async Task<AckReply> AckAsync(CallbackAddress client, string entryId, Lease lease)
    {
        var pending = new Pending(new AckRequest(client, entryId, lease));
        _queue.Enqueue(pending);
        if (Interlocked.CompareExchange(ref _committing, 1, 0) == 0)
        {
            // No call in flight: this caller makes it (its own ack is in this batch or, behind more
            // than a batch's worth, in one the background commit takes on).
            await CommitAsync();
        }
        return await pending.Reply.Task;
    }

    // Runs while holding the committing role: one batch, then the role is given up or passed on.
    private async Task CommitAsync()
    {
        var batch = new List<Pending>(MaxBatch);
        while (batch.Count < MaxBatch && _queue.TryDequeue(out var pending))
        {
            batch.Add(pending);
        }
        if (batch.Count > 0)
        {
            try
            {
                var replies = await commit([.. batch.Select(p => p.Request)]);
                for (var i = 0; i < batch.Count; i++)
                {
                    batch[i].Reply.TrySetResult(replies[i]);
                }
            }
            catch (Exception ex)
            {
                foreach (var pending in batch)
                {
                    pending.Reply.TrySetException(ex);
                }
            }
            telemetry?.AcksCommitted(batch.Count);
        }

        // A full fence (not a plain write): the look at the queue below must not come before it, or an
        // ack queued by a caller that just saw the role taken would be left behind.
        Interlocked.Exchange(ref _committing, 0);
        // Acks queued while the call was in flight: the next batch goes from the thread pool, so this
        // caller's client is not held up committing everyone else's.
        if (!_queue.IsEmpty && Interlocked.CompareExchange(ref _committing, 1, 0) == 0)
        {
            _ = Task.Run(CommitAsync);
        }
    }

    private sealed class Pending(AckRequest request)
    {
        public AckRequest Request { get; } = request;

        // Completed by whichever caller commits: the waiting loops go on from the thread pool, not one
        // after another on the committer's thread.
        public TaskCompletionSource<AckReply> Reply { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
