using k8s.Models;

namespace CrnpCloud.Operator;

internal static class Conditions
{
    public const string Registered = "Registered";
    public const string Delivering = "Delivering";
    public const string Removed = "Removed";
    public const string Applied = "Applied";

    public static V1Condition? Find(List<V1Condition>? conditions, string type) =>
        conditions?.FirstOrDefault(c => c.Type == type);

    public static bool IsTrue(List<V1Condition>? conditions, string type) => Find(conditions, type)?.Status == "True";

    /// <summary>Sets a condition; its transition time moves only when its status does.</summary>
    public static List<V1Condition> Set(List<V1Condition>? conditions, string type, bool status, string reason, string message, long? generation, DateTime now)
    {
        var list = conditions is null ? [] : new List<V1Condition>(conditions);
        var text = status ? "True" : "False";
        var existing = list.FindIndex(c => c.Type == type);
        var transition = existing >= 0 && list[existing].Status == text ? list[existing].LastTransitionTime : now;
        var condition = new V1Condition
        {
            LastTransitionTime = transition,
            Message = message.Length > 32_000 ? message[..32_000] : message,
            Reason = reason,
            Status = text,
            Type = type,
            ObservedGeneration = generation,
        };
        if (existing >= 0)
        {
            list[existing] = condition;
        }
        else
        {
            list.Add(condition);
        }
        return list;
    }
}
