using CrnpCloud.Protocol;

namespace CrnpCloud.Core;

/// <summary>
/// Which "latest event" an event replaces: one per class/subclass, and for resource-group and
/// resource events one per <c>rg_name</c> / <c>r_name</c>, so the latest-state map holds the
/// current state of every group and resource, not only of the one that changed last. This is what
/// first-event delivery and resync send.
/// </summary>
public static class StateKey
{
    private static readonly string[] IdentityNames = ["rg_name", "r_name"];

    public static string For(CrnpEvent evt)
    {
        var key = evt.Class + "\u001f" + evt.Subclass;
        foreach (var name in IdentityNames)
        {
            var pair = evt.NameValues.FirstOrDefault(p => p.Name == name);
            if (pair is not null)
            {
                key += "\u001f" + name + "=" + string.Join("\u001e", pair.Values);
            }
        }
        return key;
    }
}
