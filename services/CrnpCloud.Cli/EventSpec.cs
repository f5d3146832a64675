using CrnpCloud.Protocol;

namespace CrnpCloud.Cli;

/// <summary>
/// An event type on the command line: <c>CLASS[/SUBCLASS][?name=value,name=v1|v2]</c>. Pairs are
/// separated by commas; several values of one name (an array) by <c>|</c>.
/// </summary>
internal static class EventSpec
{
    public static bool TryParse(string text, out EventRegistration type, out string error)
    {
        type = null!;
        error = "";
        var query = text.IndexOf('?', StringComparison.Ordinal);
        var path = query < 0 ? text : text[..query];
        var slash = path.IndexOf('/', StringComparison.Ordinal);
        var @class = (slash < 0 ? path : path[..slash]).Trim();
        var subclass = slash < 0 ? null : path[(slash + 1)..].Trim();
        if (@class.Length == 0)
        {
            error = $"'{text}': no event class (expected CLASS[/SUBCLASS][?name=value,...], e.g. EC_Cluster/ESC_cluster_membership)";
            return false;
        }
        if (subclass is { Length: 0 })
        {
            error = $"'{text}': empty subclass after '/'";
            return false;
        }

        var pairs = new List<NameValue>();
        if (query >= 0)
        {
            foreach (var part in text[(query + 1)..].Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
            {
                var equals = part.IndexOf('=', StringComparison.Ordinal);
                if (equals <= 0)
                {
                    error = $"'{text}': '{part}' is not name=value";
                    return false;
                }
                pairs.Add(new NameValue(part[..equals], part[(equals + 1)..].Split('|')));
            }
        }
        type = new EventRegistration(@class, subclass, [.. pairs]);
        return true;
    }

    public static string Format(EventRegistration type)
    {
        var text = type.Subclass is null ? type.Class : $"{type.Class}/{type.Subclass}";
        return type.NameValues.Count == 0 ? text : text + "?" + string.Join(",", type.NameValues.Select(p => $"{p.Name}={string.Join("|", p.Values)}"));
    }
}
