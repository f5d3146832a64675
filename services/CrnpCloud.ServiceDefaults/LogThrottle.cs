namespace CrnpCloud.ServiceDefaults;

/// <summary>
/// Lets at most <c>burst</c> log lines through per interval and counts the ones held back, so a flood
/// (refused connections at the edge, hundreds of unreachable clients failing together in a delivery
/// worker) costs a few lines every interval, not one per event. The count held back is reported with
/// the next line let through; the metrics count every event.
/// </summary>
public sealed class LogThrottle(TimeProvider time, TimeSpan interval, int burst = 1)
{
    private readonly Lock _gate = new();
    private long _windowEnds = long.MinValue;
    private int _used;
    private long _suppressed;

    /// <summary>True when this event should be logged; <paramref name="suppressed"/> is how many were not since the last one that was.</summary>
    public bool TryEnter(out long suppressed)
    {
        var now = time.GetTimestamp();
        lock (_gate)
        {
            if (now >= _windowEnds)
            {
                _windowEnds = now + (long)(interval.TotalSeconds * time.TimestampFrequency);
                _used = 0;
            }
            if (_used < burst)
            {
                _used++;
                suppressed = _suppressed;
                _suppressed = 0;
                return true;
            }
            _suppressed++;
            suppressed = 0;
            return false;
        }
    }
}
