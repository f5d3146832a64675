using CrnpCloud.Core;

namespace CrnpCloud.Delivery;

/// <summary>
/// The one delivery loop of a client: at most one runs at a time, so the client's entries go out
/// strictly in sequence. A signal while it runs makes it look again before it exits.
/// </summary>
internal sealed class ClientLoop(CallbackAddress client, IHeldPartition partition, QueueDrainer drainer)
{
    private readonly Lock _gate = new();
    private readonly ClientStanding _standing = new();
    private bool _running;
    private bool _signaled;

    public Task Completion { get; private set; } = Task.CompletedTask;

    public void Signal()
    {
        lock (_gate)
        {
            _signaled = true;
            if (_running)
            {
                return;
            }
            _running = true;
            Completion = Task.Run(RunAsync);
        }
    }

    private async Task RunAsync()
    {
        drainer.Telemetry.ClientLoops(1);
        try
        {
            while (true)
            {
                lock (_gate)
                {
                    if (!_signaled || !partition.IsValid)
                    {
                        _running = false;
                        return;
                    }
                    _signaled = false;
                }

                if (!await drainer.DrainAsync(client, partition, _standing))
                {
                    // The store was away or something unexpected happened: look again shortly.
                    lock (_gate)
                    {
                        _signaled = true;
                    }
                    await drainer.PauseAsync(partition.Stopping);
                }
            }
        }
        finally
        {
            drainer.Telemetry.ClientLoops(-1);
        }
    }
}
