namespace CrnpCloud.Benchmarks;

internal static class Percentiles
{
    public static string Summary(List<double> milliseconds)
    {
        if (milliseconds.Count == 0)
        {
            return "no samples";
        }
        milliseconds.Sort();
        return $"p50 {At(milliseconds, 0.50):F2} ms, p90 {At(milliseconds, 0.90):F2} ms, p99 {At(milliseconds, 0.99):F2} ms, max {milliseconds[^1]:F2} ms (n={milliseconds.Count})";
    }

    /// <summary>The nearest-rank percentile <paramref name="p"/> (0..1) of samples sorted ascending; NaN when there are none.</summary>
    public static double At(List<double> sorted, double p) =>
        sorted.Count == 0 ? double.NaN : sorted[Math.Min(sorted.Count - 1, (int)Math.Ceiling(p * sorted.Count) - 1)];
}
