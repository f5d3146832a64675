using System.IO.Pipelines;

namespace CrnpCloud.Edge;

/// <summary>
/// A <see cref="PipeReader"/> whose every wait for more bytes is cut after the idle timeout: each
/// <see cref="ReadAsync"/> restarts the idle timer, and a read that sees no new byte before it fires
/// ends with <see cref="OperationCanceledException"/> (<see cref="TimedOut"/> is then true).
/// </summary>
internal sealed class IdleTimeoutPipeReader(PipeReader inner, TimeSpan idleTimeout, TimeProvider time) : PipeReader, IDisposable
{
    private readonly CancellationTokenSource _idle = new(Timeout.InfiniteTimeSpan, time);

    public bool TimedOut => _idle.IsCancellationRequested;

    public override async ValueTask<ReadResult> ReadAsync(CancellationToken cancellationToken = default)
    {
        _idle.CancelAfter(idleTimeout);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _idle.Token);
        try
        {
            return await inner.ReadAsync(linked.Token);
        }
        finally
        {
            if (!_idle.IsCancellationRequested)
            {
                _idle.CancelAfter(Timeout.InfiniteTimeSpan);
            }
        }
    }

    public override bool TryRead(out ReadResult result) => inner.TryRead(out result);

    public override void AdvanceTo(SequencePosition consumed) => inner.AdvanceTo(consumed);

    public override void AdvanceTo(SequencePosition consumed, SequencePosition examined) => inner.AdvanceTo(consumed, examined);

    public override void CancelPendingRead() => inner.CancelPendingRead();

    public override void Complete(Exception? exception = null) => inner.Complete(exception);

    public void Dispose() => _idle.Dispose();
}
