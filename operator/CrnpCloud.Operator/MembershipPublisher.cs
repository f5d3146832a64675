using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using CrnpCloud.Core;
using CrnpCloud.Ingest.V1;
using Grpc.Core;
using k8s;
using k8s.Autorest;
using k8s.Models;
using Microsoft.Extensions.Logging;

namespace CrnpCloud.Operator;

/// <summary>
/// The Kubernetes cluster as the CRNP cluster: Nodes -> <c>EC_Cluster/ESC_cluster_membership</c>.
/// <c>node_list</c> = every node by name, <c>state_list</c> = its incarnation number, which goes up by
/// one each time the node becomes Ready, or <c>-1</c> while it is NotReady (or once, when it is
/// deleted; a deleted node is then dropped from later events). Incarnations are kept in a ConfigMap
/// so a new leader continues them. An event is published through the ingest gRPC API only when the
/// lists differ from the latest membership event in the store, so a leader change does not repeat one.
/// </summary>
internal sealed partial class MembershipPublisher(
    IKubernetes kube,
    IEventLog store,
    EventIngest.EventIngestClient ingest,
    OperatorOptions options,
    TimeProvider time,
    ILogger<MembershipPublisher> logger)
{
    public const string Class = "EC_Cluster";
    public const string Subclass = "ESC_cluster_membership";
    private static readonly JsonSerializerOptions Json = new() { PropertyNamingPolicy = JsonNamingPolicy.CamelCase };

    private Dictionary<string, NodeRecord>? _records;
    private string? _configMapVersion;

    public string ConfigMapName => options.LeaseName + "-membership";

    public async Task ReconcileAsync(IReadOnlyList<V1Node> nodes, CancellationToken leading)
    {
        var records = _records ??= await LoadAsync(leading);
        var changed = false;
        var present = new HashSet<string>(StringComparer.Ordinal);
        foreach (var node in nodes)
        {
            var name = node.Metadata.Name;
            present.Add(name);
            _reportedGone.Remove(name);
            var ready = node.Status?.Conditions?.Any(c => c.Type == "Ready" && c.Status == "True") == true;
            records.TryGetValue(name, out var record);
            record ??= new NodeRecord();
            var next = ready && (!record.Ready || record.Gone)
                ? record with { Incarnation = record.Incarnation + 1, Ready = true, Gone = false }
                : record with { Ready = ready, Gone = false };
            if (next != record || !records.ContainsKey(name))
            {
                records[name] = next;
                changed = true;
            }
        }
        foreach (var (name, record) in records.Where(r => !present.Contains(r.Key) && !r.Value.Gone).ToList())
        {
            records[name] = record with { Ready = false, Gone = true };
            changed = true;
        }
        if (changed)
        {
            await SaveAsync(records, leading);
        }

        // Gone nodes are reported (-1) in the event that follows their deletion, then dropped.
        var listed = records.Where(r => !r.Value.Gone || !ReportedGone(r.Key)).OrderBy(r => r.Key, StringComparer.Ordinal).ToList();
        var nodeList = listed.Select(r => r.Key).ToList();
        var stateList = listed.Select(r => r.Value.Ready ? r.Value.Incarnation.ToString(CultureInfo.InvariantCulture) : "-1").ToList();
        if (nodeList.Count == 0)
        {
            return;
        }

        var latest = (await store.GetLatestAsync(leading))
            .LastOrDefault(e => e.Event.Class == Class && e.Event.Subclass == Subclass)?.Event;
        if (latest is not null && Values(latest, "node_list").SequenceEqual(nodeList) && Values(latest, "state_list").SequenceEqual(stateList))
        {
            return;
        }

        var request = new PublishRequest
        {
            Event = new Event { Class = Class, Subclass = Subclass },
        };
        request.Event.Nvpairs.Add(new NameValue { Name = "node_list", Values = { nodeList } });
        request.Event.Nvpairs.Add(new NameValue { Name = "state_list", Values = { stateList } });
        var headers = new Metadata();
        if (options.IngestToken.Length > 0)
        {
            headers.Add("authorization", "Bearer " + options.IngestToken);
        }
        leading.ThrowIfCancellationRequested();
        var reply = await ingest.PublishAsync(request, headers, deadline: time.GetUtcNow().UtcDateTime.AddSeconds(10), cancellationToken: leading);
        foreach (var name in records.Where(r => r.Value.Gone).Select(r => r.Key))
        {
            _reportedGone.Add(name);
        }
        Published(logger, reply.Sequence, string.Join(',', nodeList), string.Join(',', stateList));
    }

    private readonly HashSet<string> _reportedGone = new(StringComparer.Ordinal);

    private bool ReportedGone(string name) => _reportedGone.Contains(name);

    private static IEnumerable<string> Values(Protocol.CrnpEvent evt, string name) =>
        evt.NameValues.FirstOrDefault(p => p.Name == name)?.Values ?? (IEnumerable<string>)[];

    private async Task<Dictionary<string, NodeRecord>> LoadAsync(CancellationToken leading)
    {
        try
        {
            var map = await kube.CoreV1.ReadNamespacedConfigMapAsync(ConfigMapName, options.ResolvedNamespace(), cancellationToken: leading);
            _configMapVersion = map.Metadata.ResourceVersion;
            if (map.Data?.TryGetValue("incarnations", out var json) == true)
            {
                return JsonSerializer.Deserialize<Dictionary<string, NodeRecord>>(json, Json) ?? [];
            }
        }
        catch (HttpOperationException ex) when (ex.Response.StatusCode == System.Net.HttpStatusCode.NotFound)
        {
            _configMapVersion = null;
        }
        return new Dictionary<string, NodeRecord>(StringComparer.Ordinal);
    }

    private async Task SaveAsync(Dictionary<string, NodeRecord> records, CancellationToken leading)
    {
        var map = new V1ConfigMap
        {
            ApiVersion = "v1",
            Kind = "ConfigMap",
            Metadata = new V1ObjectMeta
            {
                Name = ConfigMapName,
                NamespaceProperty = options.ResolvedNamespace(),
                ResourceVersion = _configMapVersion,
                Labels = new Dictionary<string, string> { ["app.kubernetes.io/managed-by"] = EventRecorder.Component },
            },
            Data = new Dictionary<string, string> { ["incarnations"] = JsonSerializer.Serialize(records, Json) },
        };
        leading.ThrowIfCancellationRequested();
        try
        {
            var saved = _configMapVersion is null
                ? await kube.CoreV1.CreateNamespacedConfigMapAsync(map, map.Metadata.NamespaceProperty, cancellationToken: leading)
                : await kube.CoreV1.ReplaceNamespacedConfigMapAsync(map, ConfigMapName, map.Metadata.NamespaceProperty, cancellationToken: leading);
            _configMapVersion = saved.Metadata.ResourceVersion;
        }
        catch (HttpOperationException ex) when (ex.Response.StatusCode is System.Net.HttpStatusCode.Conflict or System.Net.HttpStatusCode.NotFound)
        {
            _records = null; // someone else wrote it: read it again on the retry
            throw;
        }
    }

    internal sealed record NodeRecord
    {
        public int Incarnation { get; init; }

        public bool Ready { get; init; }

        [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)]
        public bool Gone { get; init; }
    }

    [LoggerMessage(EventId = 1401, Level = LogLevel.Information, Message = "membership event {Sequence} published: node_list={Nodes} state_list={States}")]
    private static partial void Published(ILogger logger, long sequence, string nodes, string states);
}
