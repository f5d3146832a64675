namespace CrnpCloud.Operator.Kube;

/// <summary>Exponential backoff with +/-20 % jitter, so replicas and keys do not retry in step.</summary>
internal static class Backoff
{
    /// <param name="failures">failures so far (the exponent, capped at <paramref name="maxDoublings"/>)</param>
    public static TimeSpan Jittered(int failures, TimeSpan first, int maxDoublings, TimeSpan cap)
    {
        var delay = Math.Min(cap.TotalMilliseconds, first.TotalMilliseconds * Math.Pow(2, Math.Min(failures, maxDoublings)));
        return TimeSpan.FromMilliseconds(delay * (0.8 + (Random.Shared.NextDouble() * 0.4)));
    }

    /// <summary>A write that lost a race (409) or whose object went away (404): retried, not an error.</summary>
    public static bool IsConflict(Exception ex) =>
        ex is k8s.Autorest.HttpOperationException { Response.StatusCode: System.Net.HttpStatusCode.Conflict or System.Net.HttpStatusCode.NotFound };
}
