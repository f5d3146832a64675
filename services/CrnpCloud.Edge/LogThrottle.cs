namespace CrnpCloud.Edge;

/// <summary>
/// Lets one log line through per interval and counts the ones held back, so a flood of refused
/// connections costs a line every few seconds, not one per connection.
/// </summary>
internal sealed class LogThrottle(TimeProvider time, TimeSpan interval)
{
    private long _nextAllowed = long.MinValue;
    private long _suppressed;

    /// <summary>True when this event should be logged; <paramref name="suppressed"/> is how many were not since the last one.</summary>
    public bool TryEnter(out long suppressed)
    {
        var now = time.GetTimestamp();
        var next = Interlocked.Read(ref _nextAllowed);
        if (now >= next && Interlocked.CompareExchange(ref _nextAllowed, now + (long)(interval.TotalSeconds * time.TimestampFrequency), next) == next)
        {
            suppressed = Interlocked.Exchange(ref _suppressed, 0);
            return true;
        }
        Interlocked.Increment(ref _suppressed);
        suppressed = 0;
        return false;
    }
}
