using System.Text.Json.Nodes;
using CrnpCloud.Core;
using CrnpCloud.FakeKube;
using CrnpCloud.Operator;
using CrnpCloud.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace CrnpCloud.Operator.Tests;

/// <summary>The fake API server with the operator's kinds, a kubeconfig for it, and operators started against it.</summary>
public sealed class Kube : IAsyncDisposable
{
    public static readonly ResourceKind Clients = new(CrnpApi.Group, CrnpApi.Version, CrnpApi.ClientPlural, CrnpApi.ClientKind, Namespaced: true);
    public static readonly ResourceKind Servers = new(CrnpApi.Group, CrnpApi.Version, CrnpApi.ServerPlural, CrnpApi.ServerKind, Namespaced: true);
    public static readonly ResourceKind ConfigMaps = new("", "v1", "configmaps", "ConfigMap", Namespaced: true, HasStatus: false);

    private readonly string _dir = Directory.CreateTempSubdirectory("crnp-kube-").FullName;
    private readonly List<WorkerHost> _operators = [];

    private Kube(FakeKubeApiServer server) => Server = server;

    public FakeKubeApiServer Server { get; }

    public string Kubeconfig => Server.WriteKubeconfig(_dir);

    public static async Task<Kube> StartAsync() =>
        new(await FakeKubeApiServer.StartAsync(Clients, Servers, ConfigMaps));

    public static Dictionary<string, string?> Settings(string identity, IDictionary<string, string?>? extra = null)
    {
        var settings = new Dictionary<string, string?>
        {
            ["Crnp:Operator:Identity"] = identity,
            ["Crnp:Operator:Namespace"] = "crnp",
            ["Crnp:Operator:LeaseDuration"] = "00:00:03",
            ["Crnp:Operator:RenewDeadline"] = "00:00:02",
            ["Crnp:Operator:RetryPeriod"] = "00:00:00.300",
            ["Crnp:Operator:StatusInterval"] = "00:00:00.300",
            ["Crnp:Operator:NodeEvents"] = "false",
        };
        foreach (var (key, value) in extra ?? new Dictionary<string, string?>())
        {
            settings[key] = value;
        }
        return settings;
    }

    /// <param name="state">Used as the operator's leadership state, so a test can watch it from before the host starts.</param>
    public async Task<WorkerHost> StartOperatorAsync(ICrnpStore store, string identity = "op-a", IDictionary<string, string?>? extra = null, LeadershipState? state = null)
    {
        var settings = Settings(identity, extra);
        settings["Crnp:Operator:Kubeconfig"] = Kubeconfig;
        var host = await WorkerHost.StartAsync(store, b =>
        {
            b.AddCrnpOperator();
            if (state is not null)
            {
                b.Services.AddSingleton(state); // the last registration wins
            }
        }, settings);
        _operators.Add(host);
        return host;
    }

    public static JsonObject Client(string name, string address, int port, string reRegister = "Never", JsonObject? retry = null, params (string Class, string? Subclass)[] events)
    {
        var spec = new JsonObject
        {
            ["address"] = address,
            ["port"] = port,
            ["reRegister"] = reRegister,
            ["events"] = new JsonArray([.. (events.Length == 0 ? [("EC_Cluster", "ESC_cluster_membership")] : events)
                .Select(e => (JsonNode)new JsonObject { ["class"] = e.Class, ["subclass"] = e.Subclass })]),
        };
        if (retry is not null)
        {
            spec["retry"] = retry;
        }
        return new JsonObject
        {
            ["apiVersion"] = CrnpApi.ApiVersion,
            ["kind"] = CrnpApi.ClientKind,
            ["metadata"] = new JsonObject { ["name"] = name, ["namespace"] = "apps" },
            ["spec"] = spec,
        };
    }

    public static JsonObject ServerObject(string name, JsonObject spec) => new()
    {
        ["apiVersion"] = CrnpApi.ApiVersion,
        ["kind"] = CrnpApi.ServerKind,
        ["metadata"] = new JsonObject { ["name"] = name, ["namespace"] = "crnp" },
        ["spec"] = spec,
    };

    public static JsonObject Node(string name, bool ready) => KubeObjects.Node(name, ready);

    public static JsonObject NodeStatus(bool ready) => KubeObjects.NodeStatus(ready);

    public JsonObject? Get(ResourceKind kind, string ns, string name) => Server.Get(kind, ns, name);

    public string? Condition(ResourceKind kind, string ns, string name, string type, string field = "status") =>
        (string?)(Get(kind, ns, name)?["status"]?["conditions"] as JsonArray)?.FirstOrDefault(c => (string?)c!["type"] == type)?[field];

    public async ValueTask DisposeAsync()
    {
        foreach (var host in _operators)
        {
            await host.DisposeAsync();
        }
        await Server.DisposeAsync();
        Directory.Delete(_dir, recursive: true);
    }
}
