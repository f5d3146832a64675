using System.Threading.Channels;

namespace CrnpCloud.Operator.Kube;

/// <summary>
/// Keys to reconcile. A key waits in the queue at most once however often it is added; a key being
/// processed is not handed out again until <see cref="Done"/>, and if it was added meanwhile it is
/// queued once more then. So the queue holds at most one entry per object, and one object is never
/// reconciled twice at once.
/// </summary>
internal sealed class WorkQueue(TimeProvider time)
{
    private readonly Channel<string> _ready = Channel.CreateUnbounded<string>();
    private readonly HashSet<string> _queued = new(StringComparer.Ordinal);
    private readonly HashSet<string> _active = new(StringComparer.Ordinal);
    private readonly HashSet<string> _dirty = new(StringComparer.Ordinal);
    private readonly Lock _lock = new();

    public void Add(string key)
    {
        lock (_lock)
        {
            if (_active.Contains(key))
            {
                _dirty.Add(key);
                return;
            }
            if (_queued.Add(key))
            {
                _ready.Writer.TryWrite(key);
            }
        }
    }

    /// <summary>Adds the key after a delay (a retry with backoff, or a periodic refresh).</summary>
    public void AddAfter(string key, TimeSpan delay, CancellationToken cancellationToken)
    {
        _ = Task.Delay(delay, time, cancellationToken).ContinueWith(
            t =>
            {
                if (!t.IsCanceled)
                {
                    Add(key);
                }
            },
            CancellationToken.None,
            TaskContinuationOptions.ExecuteSynchronously,
            TaskScheduler.Default);
    }

    public async ValueTask<string> TakeAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            var key = await _ready.Reader.ReadAsync(cancellationToken);
            lock (_lock)
            {
                if (_queued.Remove(key))
                {
                    _active.Add(key);
                    return key;
                }
            }
        }
    }

    public void Done(string key)
    {
        lock (_lock)
        {
            _active.Remove(key);
            if (_dirty.Remove(key) && _queued.Add(key))
            {
                _ready.Writer.TryWrite(key);
            }
        }
    }
}
