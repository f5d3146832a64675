using System.CommandLine;
using System.Globalization;
using System.Text.Json;

namespace CrnpCloud.Benchmarks;

/// <summary>One figure of a benchmark run, and which way is better.</summary>
internal sealed record BenchMetric(string Name, double Value, string Unit, bool HigherIsBetter);

/// <summary>
/// The figures a run prints, kept for a JSON file beside the printed table (issue 17, item 6), and the
/// <c>compare</c> command that sets a results file against a committed baseline
/// (tests/CrnpCloud.Benchmarks/baseline.json), so that a regression shows in review. Nothing here
/// asserts a time: the test suite never runs a benchmark.
/// </summary>
internal static class BenchResults
{
    private static readonly List<BenchMetric> Metrics = [];
    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.CamelCase };

    /// <summary>The measured phase running now (e.g. <c>fanout</c>, <c>silent/loaded</c>); null during a warm-up, whose figures are not kept.</summary>
    public static string? Phase { get; set; }

    public static void Record(string name, double value, string unit, bool higherIsBetter)
    {
        if (Phase is { } phase && double.IsFinite(value))
        {
            Metrics.Add(new BenchMetric($"{phase}.{name}", value, unit, higherIsBetter));
        }
    }

    /// <summary>Records latency percentiles (ms) of the current phase.</summary>
    public static void RecordLatencies(string name, List<double> milliseconds)
    {
        if (milliseconds.Count == 0)
        {
            return;
        }
        milliseconds.Sort();
        foreach (var (label, p) in new[] { ("p50", 0.50), ("p99", 0.99) })
        {
            Record($"{name}_{label}", Percentiles.At(milliseconds, p), "ms", higherIsBetter: false);
        }
        Record($"{name}_max", milliseconds[^1], "ms", higherIsBetter: false);
    }

    public static async Task WriteAsync(string path, string arguments)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        var file = new ResultsFile(arguments, DateTimeOffset.UtcNow, Environment.ProcessorCount, [.. Metrics]);
        await File.WriteAllTextAsync(path, JsonSerializer.Serialize(file, Json));
        Console.WriteLine($"results: {Metrics.Count} figures in {path} (compare: dotnet run -c Release --project tests/CrnpCloud.Benchmarks -- compare --results {path})");
    }

    private sealed record ResultsFile(string Arguments, DateTimeOffset At, int Cores, List<BenchMetric> Metrics);

    public static Command CompareCommand()
    {
        var results = new Option<string>("--results") { Description = "a results file written by e2e --json", Required = true };
        var baseline = new Option<string>("--baseline") { Description = "the baseline to compare with", DefaultValueFactory = _ => "tests/CrnpCloud.Benchmarks/baseline.json" };
        var tolerance = new Option<double>("--tolerance") { Description = "a change in the worse direction beyond this fraction is flagged WORSE (this machine's runs vary by 20-30%)", DefaultValueFactory = _ => 0.25 };
        var failOnWorse = new Option<bool>("--fail-on-worse") { Description = "exit 1 when a figure is flagged WORSE" };
        var command = new Command("compare", "a results file against the committed baseline: each figure's change, WORSE beyond the tolerance") { results, baseline, tolerance, failOnWorse };
        command.SetAction(r => Compare(r.GetValue(results)!, r.GetValue(baseline)!, r.GetValue(tolerance), r.GetValue(failOnWorse)));
        return command;
    }

    private static int Compare(string resultsPath, string baselinePath, double tolerance, bool failOnWorse)
    {
        foreach (var path in new[] { resultsPath, baselinePath })
        {
            if (!File.Exists(path))
            {
                Console.Error.WriteLine($"compare: {path} does not exist (e2e writes its figures with --json PATH, artifacts/bench/e2e.json by default)");
                return 2;
            }
        }
        var now = Read(resultsPath);
        var before = Read(baselinePath).ToDictionary(m => m.Name);
        var worse = 0;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{"figure",-44} {"baseline",12} {"now",12}  change"));
        foreach (var metric in now)
        {
            if (!before.TryGetValue(metric.Name, out var old))
            {
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{metric.Name,-44} {"-",12} {metric.Value,12:G4}  new"));
                continue;
            }
            var change = old.Value == 0 ? 0 : (metric.Value - old.Value) / Math.Abs(old.Value);
            var better = metric.HigherIsBetter ? change : -change;
            var verdict = better < -tolerance ? "WORSE" : better > tolerance ? "better" : "";
            worse += verdict == "WORSE" ? 1 : 0;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{metric.Name,-44} {old.Value,12:G4} {metric.Value,12:G4}  {change * 100,7:+0.0;-0.0;0.0}% {metric.Unit} {verdict}"));
        }
        Console.WriteLine($"{worse} figure(s) worse than the baseline by more than {tolerance:P0}");
        return failOnWorse && worse > 0 ? 1 : 0;
    }

    private static List<BenchMetric> Read(string path) =>
        JsonSerializer.Deserialize<ResultsFile>(File.ReadAllText(path), Json)?.Metrics ?? throw new InvalidDataException($"{path} holds no results");
}
