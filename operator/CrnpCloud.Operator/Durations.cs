using System.Globalization;
using System.Text.RegularExpressions;

namespace CrnpCloud.Operator;

/// <summary>Kubernetes-style durations in resource specs: <c>500ms</c>, <c>30s</c>, <c>1m30s</c>, <c>2h</c>.</summary>
public static partial class Durations
{
    /// <summary>The pattern the CRD schema gives; kept equal to it by a test.</summary>
    public const string Pattern = "^([0-9]+(\\.[0-9]+)?(ms|s|m|h))+$";

    public static bool TryParse(string? text, out TimeSpan duration)
    {
        duration = TimeSpan.Zero;
        if (string.IsNullOrEmpty(text) || text.Length > 64 || !Whole().IsMatch(text))
        {
            return false;
        }
        foreach (Match part in Part().Matches(text))
        {
            var value = double.Parse(part.Groups[1].Value, CultureInfo.InvariantCulture);
            duration += part.Groups[2].Value switch
            {
                "ms" => TimeSpan.FromMilliseconds(value),
                "s" => TimeSpan.FromSeconds(value),
                "m" => TimeSpan.FromMinutes(value),
                _ => TimeSpan.FromHours(value),
            };
        }
        return true;
    }

    [GeneratedRegex(Pattern, RegexOptions.CultureInvariant)]
    private static partial Regex Whole();

    [GeneratedRegex("([0-9]+(?:\\.[0-9]+)?)(ms|s|m|h)", RegexOptions.CultureInvariant)]
    private static partial Regex Part();
}
