using System.Text.Json.Nodes;

namespace CrnpCloud.FakeKube;

/// <summary>
/// A <c>labelSelector</c> query parameter as the API server reads it: comma-separated requirements
/// <c>key</c>, <c>!key</c>, <c>key=value</c>, <c>key==value</c>, <c>key!=value</c>,
/// <c>key in (a,b)</c>, <c>key notin (a,b)</c>; all must hold. (<c>!=</c> and <c>notin</c> also match
/// an object without the label, as in Kubernetes.)
/// </summary>
public sealed class LabelSelector
{
    private readonly List<Func<IReadOnlyDictionary<string, string>, bool>> _requirements = [];

    private LabelSelector()
    {
    }

    public static bool TryParse(string? text, out LabelSelector? selector, out string error)
    {
        selector = null;
        error = "";
        if (string.IsNullOrWhiteSpace(text))
        {
            return true;
        }
        var result = new LabelSelector();
        foreach (var raw in Split(text))
        {
            var part = raw.Trim();
            if (part.Length == 0)
            {
                error = $"unable to parse requirement: empty requirement in '{text}'";
                return false;
            }
            var words = part.Split(' ', 2, StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            if (words.Length == 2 && (words[1].StartsWith("in ", StringComparison.Ordinal) || words[1].StartsWith("notin ", StringComparison.Ordinal)))
            {
                var (key, rest) = (words[0], words[1]);
                var negate = rest.StartsWith("notin", StringComparison.Ordinal);
                var list = rest[(negate ? 5 : 2)..].Trim();
                if (!list.StartsWith('(') || !list.EndsWith(')'))
                {
                    error = $"unable to parse requirement: '{part}': values must be in parentheses";
                    return false;
                }
                var values = list[1..^1].Split(',', StringSplitOptions.TrimEntries).ToHashSet(StringComparer.Ordinal);
                result._requirements.Add(negate
                    ? l => !l.TryGetValue(key, out var v) || !values.Contains(v)
                    : l => l.TryGetValue(key, out var v) && values.Contains(v));
            }
            else if (part.Contains("!=", StringComparison.Ordinal))
            {
                var (key, value) = Pair(part, "!=");
                result._requirements.Add(l => !l.TryGetValue(key, out var v) || v != value);
            }
            else if (part.Contains("==", StringComparison.Ordinal) || part.Contains('='))
            {
                var (key, value) = Pair(part, part.Contains("==", StringComparison.Ordinal) ? "==" : "=");
                result._requirements.Add(l => l.TryGetValue(key, out var v) && v == value);
            }
            else if (part.StartsWith('!'))
            {
                var key = part[1..].Trim();
                result._requirements.Add(l => !l.ContainsKey(key));
            }
            else if (!part.Contains(' '))
            {
                result._requirements.Add(l => l.ContainsKey(part));
            }
            else
            {
                error = $"unable to parse requirement: '{part}'";
                return false;
            }
        }
        selector = result;
        return true;
    }

    public bool Matches(JsonObject obj)
    {
        var labels = (obj["metadata"]?["labels"] as JsonObject)?
            .Where(p => p.Value is not null)
            .ToDictionary(p => p.Key, p => (string)p.Value!, StringComparer.Ordinal)
            ?? new Dictionary<string, string>(StringComparer.Ordinal);
        return _requirements.All(r => r(labels));
    }

    private static (string Key, string Value) Pair(string part, string op)
    {
        var i = part.IndexOf(op, StringComparison.Ordinal);
        return (part[..i].Trim(), part[(i + op.Length)..].Trim());
    }

    // Commas inside "in (a,b)" do not separate requirements.
    private static IEnumerable<string> Split(string text)
    {
        var depth = 0;
        var start = 0;
        for (var i = 0; i < text.Length; i++)
        {
            depth += text[i] switch { '(' => 1, ')' => -1, _ => 0 };
            if (text[i] == ',' && depth == 0)
            {
                yield return text[start..i];
                start = i + 1;
            }
        }
        yield return text[start..];
    }
}
