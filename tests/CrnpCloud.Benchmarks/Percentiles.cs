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
        double At(double p) => milliseconds[Math.Min(milliseconds.Count - 1, (int)Math.Ceiling(p * milliseconds.Count) - 1)];
        return $"p50 {At(0.50):F2} ms, p90 {At(0.90):F2} ms, p99 {At(0.99):F2} ms, max {milliseconds[^1]:F2} ms (n={milliseconds.Count})";
    }
}
