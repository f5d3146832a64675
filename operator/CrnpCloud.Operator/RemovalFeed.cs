using System.Collections.Concurrent;
using CrnpCloud.Core;
using CrnpCloud.Operator.Kube;
using Microsoft.Extensions.Logging;

namespace CrnpCloud.Operator;

/// <summary>
/// The delivery pool's removals as the leader learns them: the whole record the store keeps at the
/// start of a term, then what is new, every <see cref="OperatorOptions.RemovalPollInterval"/>, through
/// a cursor. Which removal a CrnpClient has already reported is kept in its status
/// (<c>lastRemoval</c>), not here, so a restart or a new leader reports nothing twice.
/// </summary>
internal sealed partial class RemovalFeed(IClientStatusStore clientStatus, OperatorOptions options, TimeProvider time, ILogger<RemovalFeed> logger)
{
    private const int Page = 1000;
    private readonly ConcurrentDictionary<CallbackAddress, RemovalRecord> _latest = new();
    private readonly SemaphoreSlim _reading = new(1, 1);
    private Action<RemovalRecord> _removed = _ => { };
    private string? _cursor;

    /// <summary>The latest removal of a client the store still records, if any.</summary>
    public RemovalRecord? Latest(CallbackAddress client) => _latest.GetValueOrDefault(client);

    /// <summary>
    /// Reads the whole record, retrying while the store cannot be reached (reconciles wait for it);
    /// from then on <paramref name="removed"/> gets each new removal.
    /// </summary>
    public async Task BeginTermAsync(Action<RemovalRecord> removed, CancellationToken leading)
    {
        _latest.Clear();
        _cursor = null;
        _removed = _ => { };
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await CatchUpAsync(leading);
                _removed = removed;
                return;
            }
            catch (StoreUnavailableException ex)
            {
                var delay = Backoff.Jittered(attempt, TimeSpan.FromMilliseconds(100), 10, TimeSpan.FromSeconds(10));
                Unavailable(logger, delay, ex.Message);
                await Task.Delay(delay, time, leading);
            }
        }
    }

    /// <summary>Follows the record until the term ends.</summary>
    public async Task RunAsync(CancellationToken leading)
    {
        using var timer = new PeriodicTimer(options.RemovalPollInterval, time);
        while (await timer.WaitForNextTickAsync(leading))
        {
            try
            {
                await CatchUpAsync(leading);
            }
            catch (StoreUnavailableException ex)
            {
                Unavailable(logger, options.RemovalPollInterval, ex.Message); // the cursor stays: nothing is skipped
            }
        }
    }

    /// <summary>Reads what is new now (also called by a reconcile that finds its client gone before the next poll).</summary>
    public async Task CatchUpAsync(CancellationToken leading)
    {
        await _reading.WaitAsync(leading);
        try
        {
            while (true)
            {
                var page = await clientStatus.ReadRemovalsAsync(_cursor, Page, leading);
                foreach (var removal in page.Removals)
                {
                    _latest[removal.Client] = removal;
                    _removed(removal);
                }
                _cursor = page.Cursor;
                if (page.Removals.Count < Page)
                {
                    return;
                }
            }
        }
        finally
        {
            _reading.Release();
        }
    }

    [LoggerMessage(EventId = 1901, Level = LogLevel.Warning, Message = "cannot read the delivery pool's removals; trying again in {Delay}: {Reason}")]
    private static partial void Unavailable(ILogger logger, TimeSpan delay, string reason);
}
