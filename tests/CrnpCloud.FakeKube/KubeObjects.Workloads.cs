using System.Globalization;
using System.Text.Json.Nodes;

namespace CrnpCloud.FakeKube;

/// <summary>A container's status as the kubelet reports it.</summary>
/// <param name="Waiting">a waiting reason (e.g. <c>ContainerCreating</c>, <c>CrashLoopBackOff</c>); null = running since <c>startedAt</c>.</param>
public sealed record ContainerStatus(string Name, bool Ready, string? Waiting = null, int Restarts = 0);

/// <summary>Workloads and Pods as kubectl, the workload controllers and the kubelet write them.</summary>
public static partial class KubeObjects
{
    /// <summary>A Deployment (or StatefulSet, <paramref name="kind"/>) selecting <c>app=NAME</c>, with a readiness probe on every container.</summary>
    public static JsonObject Workload(string kind, string ns, string name, IReadOnlyDictionary<string, string> labels, int replicas, params string[] containers) => new()
    {
        ["apiVersion"] = "apps/v1",
        ["kind"] = kind,
        ["metadata"] = new JsonObject { ["name"] = name, ["namespace"] = ns, ["labels"] = Labels(labels) },
        ["spec"] = new JsonObject
        {
            ["replicas"] = replicas,
            ["selector"] = new JsonObject { ["matchLabels"] = new JsonObject { ["app"] = name } },
            ["template"] = new JsonObject
            {
                ["metadata"] = new JsonObject { ["labels"] = new JsonObject { ["app"] = name } },
                ["spec"] = new JsonObject { ["containers"] = Containers(containers) },
            },
        },
    };

    /// <summary>A Pod of the workload <paramref name="app"/> bound to <paramref name="node"/> (null: not scheduled).</summary>
    public static JsonObject Pod(string ns, string name, string app, string? node, params string[] containers)
    {
        var spec = new JsonObject { ["containers"] = Containers(containers), ["terminationGracePeriodSeconds"] = 30 };
        if (node is not null)
        {
            spec["nodeName"] = node;
        }
        return new JsonObject
        {
            ["apiVersion"] = "v1",
            ["kind"] = "Pod",
            ["metadata"] = new JsonObject { ["name"] = name, ["namespace"] = ns, ["labels"] = new JsonObject { ["app"] = app } },
            ["spec"] = spec,
        };
    }

    /// <summary>
    /// A running Pod's status: containers running since <paramref name="started"/> (unless waiting), and
    /// the Ready condition (all containers ready) last changed at <paramref name="readyChanged"/>.
    /// </summary>
    public static JsonObject PodStatus(DateTimeOffset started, DateTimeOffset readyChanged, params ContainerStatus[] containers)
    {
        var ready = containers.All(c => c.Ready) ? "True" : "False";
        return new JsonObject
        {
            ["phase"] = "Running",
            ["startTime"] = Time(started),
            ["conditions"] = new JsonArray(
                new JsonObject { ["type"] = "Ready", ["status"] = ready, ["lastTransitionTime"] = Time(readyChanged) },
                new JsonObject { ["type"] = "ContainersReady", ["status"] = ready, ["lastTransitionTime"] = Time(readyChanged) }),
            ["containerStatuses"] = new JsonArray([.. containers.Select(c => (JsonNode)new JsonObject
            {
                ["name"] = c.Name,
                ["ready"] = c.Ready,
                ["restartCount"] = c.Restarts,
                ["started"] = c.Waiting is null,
                ["image"] = c.Name + ":1",
                ["imageID"] = "",
                ["state"] = c.Waiting is null
                    ? new JsonObject { ["running"] = new JsonObject { ["startedAt"] = Time(started) } }
                    : new JsonObject { ["waiting"] = new JsonObject { ["reason"] = c.Waiting } },
            })]),
        };
    }

    private static JsonArray Containers(string[] names) => new([.. names.Select(n => (JsonNode)new JsonObject
    {
        ["name"] = n,
        ["image"] = n + ":1",
        ["readinessProbe"] = new JsonObject { ["tcpSocket"] = new JsonObject { ["port"] = 8080 } },
    })]);

    private static JsonObject Labels(IReadOnlyDictionary<string, string> labels) =>
        new([.. labels.Select(l => KeyValuePair.Create(l.Key, (JsonNode?)JsonValue.Create(l.Value)))]);

    private static string Time(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture);
}
