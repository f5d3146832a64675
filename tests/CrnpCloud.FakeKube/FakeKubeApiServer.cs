using System.Globalization;
using System.Net;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Threading.Channels;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace CrnpCloud.FakeKube;

/// <summary>A resource kind the fake server serves.</summary>
/// <param name="GracefulDeletion">
/// Pods: deleting one bound to a node (<c>spec.nodeName</c>) only sets <c>deletionTimestamp</c> (now plus
/// the grace period) and <c>deletionGracePeriodSeconds</c>; it goes when deleted again with
/// <c>gracePeriodSeconds=0</c>, as the kubelet does once the containers stopped.
/// </param>
public sealed record ResourceKind(string Group, string Version, string Plural, string Kind, bool Namespaced, bool HasStatus = true, bool GracefulDeletion = false)
{
    public string ApiVersion => Group.Length == 0 ? Version : $"{Group}/{Version}";

    public static ResourceKind Nodes { get; } = new("", "v1", "nodes", "Node", Namespaced: false);

    public static ResourceKind Events { get; } = new("", "v1", "events", "Event", Namespaced: true, HasStatus: false);

    public static ResourceKind Leases { get; } = new("coordination.k8s.io", "v1", "leases", "Lease", Namespaced: true, HasStatus: false);

    public static ResourceKind Pods { get; } = new("", "v1", "pods", "Pod", Namespaced: true, GracefulDeletion: true);

    public static ResourceKind Deployments { get; } = new("apps", "v1", "deployments", "Deployment", Namespaced: true);

    public static ResourceKind StatefulSets { get; } = new("apps", "v1", "statefulsets", "StatefulSet", Namespaced: true);
}

/// <summary>Objects of built-in kinds as a kubelet or kubectl would write them.</summary>
public static partial class KubeObjects
{
    public static JsonObject Node(string name, bool ready) => new()
    {
        ["apiVersion"] = "v1",
        ["kind"] = "Node",
        ["metadata"] = new JsonObject { ["name"] = name },
        ["status"] = NodeStatus(ready),
    };

    public static JsonObject NodeStatus(bool ready) => new()
    {
        ["conditions"] = new JsonArray(new JsonObject { ["type"] = "Ready", ["status"] = ready ? "True" : "False" }),
    };

    /// <summary>A Node with pod CIDRs (<c>spec.podCIDR</c> is the first, as the node IPAM controller sets it) and addresses.</summary>
    public static JsonObject Node(string name, bool ready, IReadOnlyList<string> podCidrs, params (string Type, string Address)[] addresses)
    {
        var node = Node(name, ready);
        if (podCidrs.Count > 0)
        {
            node["spec"] = new JsonObject
            {
                ["podCIDR"] = podCidrs[0],
                ["podCIDRs"] = new JsonArray([.. podCidrs.Select(c => (JsonNode)JsonValue.Create(c))]),
            };
        }
        node["status"] = NodeStatus(ready, addresses);
        return node;
    }

    /// <summary>A Node status with addresses; a kubelet heartbeat writes it again with a later <paramref name="heartbeat"/>.</summary>
    public static JsonObject NodeStatus(bool ready, IReadOnlyList<(string Type, string Address)> addresses, DateTimeOffset? heartbeat = null)
    {
        var status = NodeStatus(ready);
        if (heartbeat is { } time)
        {
            status["conditions"]![0]!["lastHeartbeatTime"] = time.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture);
        }
        status["addresses"] = new JsonArray([.. addresses.Select(a => (JsonNode)new JsonObject { ["type"] = a.Type, ["address"] = a.Address })]);
        return status;
    }
}

/// <summary>One request the server answered: what RBAC would have to allow for it.</summary>
public sealed record ApiRequest(string Verb, string Group, string Resource, string? Subresource, string? Namespace, int Status);

/// <summary>
/// An in-process Kubernetes API server for tests, over real HTTP on a free loopback port, so the
/// operator under test talks to it through the real KubernetesClient and a kubeconfig. It keeps what
/// the real one guarantees for the calls the operator makes: one resourceVersion counter for every
/// object; create (409 AlreadyExists), get (404), replace with optimistic concurrency (409 Conflict on
/// a stale resourceVersion), JSON merge patch, the status subresource (a main-resource write does not
/// change status, a status write changes nothing else; generation counts spec changes), finalizers
/// (delete marks deletionTimestamp; the object goes when the last finalizer does), list with the
/// collection's resourceVersion, and watch: from a resourceVersion, replaying retained history,
/// BOOKMARK events when asked, an ERROR event with code 410 (Expired) when the resourceVersion is
/// older than the retained history, closing at timeoutSeconds. Tests can compact the history and cut
/// every open watch.
/// </summary>
public sealed partial class FakeKubeApiServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly Lock _lock = new();
    // Built-in kinds are always served, as by a real API server.
    private readonly List<ResourceKind> _kinds =
        [ResourceKind.Nodes, ResourceKind.Events, ResourceKind.Leases, ResourceKind.Pods, ResourceKind.Deployments, ResourceKind.StatefulSets];
    private readonly Dictionary<(ResourceKind Kind, string Ns, string Name), JsonObject> _objects = [];
    private readonly List<(long Rv, ResourceKind Kind, string Type, JsonObject Obj, JsonObject? Previous)> _history = [];
    private readonly List<Watch> _watches = [];
    private readonly List<ApiRequest> _requests = [];
    private long _resourceVersion = 100;
    private long _oldestRetained = 101;

    private FakeKubeApiServer(WebApplication app) => _app = app;

    public Uri Address { get; private set; } = null!;

    /// <summary>How often an open watch that asked for bookmarks gets one.</summary>
    public TimeSpan BookmarkInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>How many watch events are retained; older resourceVersions get 410.</summary>
    public int HistoryLimit { get; set; } = 10_000;

    /// <summary>Requests answered so far (verb, API group, resource, subresource, namespace, status).</summary>
    public IReadOnlyList<ApiRequest> Requests
    {
        get
        {
            lock (_lock)
            {
                return [.. _requests];
            }
        }
    }

    /// <summary>Watches answered with 410 Gone so far.</summary>
    public int GoneAnswers { get; private set; }

    public static Task<FakeKubeApiServer> StartAsync(params ResourceKind[] kinds) => StartAsync(certificate: null, kinds);

    private static async Task<FakeKubeApiServer> StartAsync(X509Certificate2? certificate, ResourceKind[] kinds)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(k => k.Listen(IPAddress.Loopback, 0, listen =>
        {
            if (certificate is not null)
            {
                listen.UseHttps(certificate);
            }
        }));
        var app = builder.Build();
        var server = new FakeKubeApiServer(app);
        server._kinds.AddRange(kinds);
        app.Run(server.HandleAsync);
        await app.StartAsync();
        var address = app.Services.GetService(typeof(IServer)) is IServer s
            ? s.Features.Get<IServerAddressesFeature>()!.Addresses.First()
            : throw new InvalidOperationException("no server");
        server.Address = new Uri(address);
        return server;
    }

    /// <summary>Writes a kubeconfig that points at this server and returns its path.</summary>
    public string WriteKubeconfig(string directory, string user = "operator")
    {
        var path = Path.Combine(directory, $"kubeconfig-{user}");
        File.WriteAllText(path, $"""
            apiVersion: v1
            kind: Config
            clusters:
            - name: fake
              cluster:
                server: {Address.ToString().TrimEnd('/')}
            users:
            - name: {user}
              user:
                token: fake-token-{user}
            contexts:
            - name: fake
              context:
                cluster: fake
                user: {user}
                namespace: default
            current-context: fake
            """);
        return path;
    }

    public async ValueTask DisposeAsync()
    {
        DropWatches();
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    // ---- test controls -------------------------------------------------------------------------

    /// <summary>Forgets all retained watch history: any watch from an older resourceVersion gets 410.</summary>
    public void CompactHistory()
    {
        lock (_lock)
        {
            _history.Clear();
            _oldestRetained = _resourceVersion + 1;
        }
    }

    /// <summary>Ends every open watch stream abruptly, as a dropped connection or an apiserver restart would.</summary>
    public void DropWatches()
    {
        lock (_lock)
        {
            foreach (var w in _watches)
            {
                w.Abort();
            }
            _watches.Clear();
        }
    }

    /// <summary>Creates or replaces an object directly (as another client would), returning the stored copy.</summary>
    public JsonObject Put(ResourceKind kind, JsonObject obj)
    {
        var meta = obj["metadata"]!.AsObject();
        var ns = kind.Namespaced ? (string?)meta["namespace"] ?? "default" : "";
        var name = (string)meta["name"]!;
        lock (_lock)
        {
            if (_objects.TryGetValue((kind, ns, name), out var existing))
            {
                var copy = (JsonObject)obj.DeepClone();
                copy["metadata"]!["resourceVersion"] = existing["metadata"]!["resourceVersion"]!.DeepClone();
                return Replace(kind, ns, name, copy, statusOnly: false, checkVersion: false).Obj!;
            }
            return Create(kind, ns, (JsonObject)obj.DeepClone()).Obj!;
        }
    }

    /// <summary>Replaces an object's status directly (as a kubelet or another controller would).</summary>
    public JsonObject PutStatus(ResourceKind kind, string? ns, string name, JsonNode status)
    {
        lock (_lock)
        {
            var copy = (JsonObject)_objects[(kind, ns ?? "", name)].DeepClone();
            copy["status"] = status.DeepClone();
            return Replace(kind, ns ?? "", name, copy, statusOnly: true, checkVersion: false).Obj!;
        }
    }

    public JsonObject? Get(ResourceKind kind, string? ns, string name)
    {
        lock (_lock)
        {
            return _objects.TryGetValue((kind, ns ?? "", name), out var o) ? (JsonObject)o.DeepClone() : null;
        }
    }

    public IReadOnlyList<JsonObject> List(ResourceKind kind)
    {
        lock (_lock)
        {
            return [.. _objects.Where(p => p.Key.Kind == kind).Select(p => (JsonObject)p.Value.DeepClone())];
        }
    }

    /// <summary>
    /// Deletes an object as kubectl would (finalizers respected; a Pod on a node is only marked, see
    /// <see cref="ResourceKind.GracefulDeletion"/>); <paramref name="gracePeriodSeconds"/> 0 is the
    /// kubelet's final delete.
    /// </summary>
    public void Delete(ResourceKind kind, string? ns, string name, long? gracePeriodSeconds = null)
    {
        lock (_lock)
        {
            DeleteObject(kind, ns ?? "", name, gracePeriodSeconds);
        }
    }

    // ---- HTTP ----------------------------------------------------------------------------------

    private async Task HandleAsync(HttpContext http)
    {
        RecordCredential(http.Request.Headers.Authorization.ToString());
        var route = Route.Parse(http.Request.Path.Value ?? "", _kinds);
        if (route is null)
        {
            Record(new ApiRequest(http.Request.Method, "?", http.Request.Path.Value ?? "", null, null, 404));
            await WriteStatusAsync(http, 404, "NotFound", $"the server could not find the requested resource {http.Request.Path}");
            return;
        }

        var watch = http.Request.Query["watch"] is { Count: > 0 } w && (w[0] == "true" || w[0] == "1");
        var verb = (http.Request.Method, route.Name, watch) switch
        {
            ("GET", null, true) => "watch",
            ("GET", null, false) => "list",
            ("GET", _, _) => "get",
            ("POST", _, _) => "create",
            ("PUT", _, _) => "update",
            ("PATCH", _, _) => "patch",
            ("DELETE", _, _) => "delete",
            _ => http.Request.Method.ToLowerInvariant(),
        };

        if (verb == "watch")
        {
            await ServeWatchAsync(http, route);
            return;
        }

        JsonObject? body = null;
        if (verb == "delete" && http.Request.ContentLength is > 0)
        {
            try
            {
                body = await JsonNode.ParseAsync(http.Request.Body) as JsonObject; // DeleteOptions
            }
            catch (JsonException)
            {
            }
        }
        if (verb is "create" or "update" or "patch")
        {
            try
            {
                body = await JsonNode.ParseAsync(http.Request.Body) as JsonObject;
            }
            catch (JsonException)
            {
            }
            if (body is null)
            {
                Record(new ApiRequest(verb, route.Kind.Group, route.Kind.Plural, route.Subresource, route.Namespace, 400));
                await WriteStatusAsync(http, 400, "BadRequest", "the request body is not a JSON object");
                return;
            }
        }

        Result result;
        lock (_lock)
        {
            var ns = route.Namespace ?? "";
            result = verb switch
            {
                "list" => LabelSelector.TryParse(http.Request.Query["labelSelector"], out var selector, out var invalid)
                    ? new Result(200, ListObject(route.Kind, route.Namespace, selector))
                    : new Result(400, null, "BadRequest", invalid),
                "get" => _objects.TryGetValue((route.Kind, ns, route.Name!), out var found)
                    ? new Result(200, (JsonObject)found.DeepClone())
                    : NotFound(route.Kind, route.Name!),
                "create" => Create(route.Kind, ns, body!),
                "update" => route.Name is null ? new Result(405, null, "MethodNotAllowed", "update needs a name")
                    : Replace(route.Kind, ns, route.Name, body!, route.Subresource == "status", checkVersion: true),
                "patch" => route.Name is null ? new Result(405, null, "MethodNotAllowed", "patch needs a name")
                    : Patch(route.Kind, ns, route.Name, body!, route.Subresource == "status", http.Request.ContentType),
                "delete" => route.Name is null ? new Result(405, null, "MethodNotAllowed", "deletecollection is not served")
                    : DeleteObject(route.Kind, ns, route.Name, GracePeriod(http, body)),
                _ => new Result(405, null, "MethodNotAllowed", $"{http.Request.Method} is not served"),
            };
            _requests.Add(new ApiRequest(verb, route.Kind.Group, route.Kind.Plural, route.Subresource, route.Namespace, result.Code));
        }

        if (result.Obj is null)
        {
            await WriteStatusAsync(http, result.Code, result.Reason!, result.Message!);
            return;
        }
        http.Response.StatusCode = result.Code;
        http.Response.ContentType = "application/json";
        await http.Response.WriteAsync(result.Obj.ToJsonString());
    }

    private void Record(ApiRequest request)
    {
        lock (_lock)
        {
            _requests.Add(request);
        }
    }

    private static Task WriteStatusAsync(HttpContext http, int code, string reason, string message)
    {
        http.Response.StatusCode = code;
        http.Response.ContentType = "application/json";
        return http.Response.WriteAsync(StatusObject(code, reason, message).ToJsonString());
    }

    private static JsonObject StatusObject(int code, string reason, string message) => new()
    {
        ["kind"] = "Status",
        ["apiVersion"] = "v1",
        ["metadata"] = new JsonObject(),
        ["status"] = code < 400 ? "Success" : "Failure",
        ["message"] = message,
        ["reason"] = reason,
        ["code"] = code,
    };

    private sealed record Result(int Code, JsonObject? Obj, string? Reason = null, string? Message = null);

    private static Result NotFound(ResourceKind kind, string name) =>
        new(404, null, "NotFound", $"{kind.Plural}{(kind.Group.Length > 0 ? "." + kind.Group : "")} \"{name}\" not found");

    // ---- storage (callers hold _lock) ----------------------------------------------------------

    // gracePeriodSeconds from the query or the DeleteOptions body; null = the object's own.
    private static long? GracePeriod(HttpContext http, JsonObject? options) =>
        long.TryParse(http.Request.Query["gracePeriodSeconds"], CultureInfo.InvariantCulture, out var seconds) ? seconds
        : options?["gracePeriodSeconds"] is JsonValue v && v.TryGetValue<long>(out var fromBody) ? fromBody
        : null;

    private JsonObject ListObject(ResourceKind kind, string? ns, LabelSelector? selector) => new()
    {
        ["apiVersion"] = kind.ApiVersion,
        ["kind"] = kind.Kind + "List",
        ["metadata"] = new JsonObject { ["resourceVersion"] = Rv(_resourceVersion) },
        ["items"] = new JsonArray([.. _objects
            .Where(p => p.Key.Kind == kind && (ns is null || p.Key.Ns == ns) && (selector is null || selector.Matches(p.Value)))
            .OrderBy(p => p.Key.Ns, StringComparer.Ordinal).ThenBy(p => p.Key.Name, StringComparer.Ordinal)
            .Select(p => (JsonNode)p.Value.DeepClone())]),
    };

    private Result Create(ResourceKind kind, string ns, JsonObject obj)
    {
        var meta = obj["metadata"] as JsonObject ?? new JsonObject();
        obj["metadata"] = meta;
        var name = (string?)meta["name"];
        if (string.IsNullOrEmpty(name) && (string?)meta["generateName"] is { } prefix)
        {
            name = prefix + Guid.NewGuid().ToString("N")[..5];
        }
        if (string.IsNullOrEmpty(name))
        {
            return new Result(422, null, "Invalid", "metadata.name: Required value");
        }
        if (kind.Namespaced && (string?)meta["namespace"] is { } bodyNs && bodyNs != ns)
        {
            return new Result(400, null, "BadRequest", "the namespace of the object does not match the namespace of the request");
        }
        if (_objects.ContainsKey((kind, ns, name)))
        {
            return new Result(409, null, "AlreadyExists", $"{kind.Plural} \"{name}\" already exists");
        }

        meta["name"] = name;
        if (kind.Namespaced)
        {
            meta["namespace"] = ns;
        }
        else
        {
            meta.Remove("namespace");
        }
        meta["uid"] = Guid.NewGuid().ToString();
        meta["creationTimestamp"] = Now();
        meta["generation"] = 1L;
        meta.Remove("deletionTimestamp");
        obj["apiVersion"] = kind.ApiVersion;
        obj["kind"] = kind.Kind;
        if (kind.HasStatus && kind.Group.Length > 0)
        {
            obj.Remove("status"); // a custom resource (or an apps/v1 workload) ignores status on create
        }
        if (kind == ResourceKind.Pods)
        {
            obj["status"] = new JsonObject { ["phase"] = "Pending" }; // the pod strategy resets status on create
        }
        Store(kind, ns, name, obj, "ADDED");
        return new Result(201, (JsonObject)obj.DeepClone());
    }

    private Result Replace(ResourceKind kind, string ns, string name, JsonObject obj, bool statusOnly, bool checkVersion)
    {
        if (!_objects.TryGetValue((kind, ns, name), out var current))
        {
            return NotFound(kind, name);
        }
        var meta = obj["metadata"] as JsonObject;
        var asked = (string?)meta?["resourceVersion"];
        if (checkVersion && !string.IsNullOrEmpty(asked) && asked != (string?)current["metadata"]!["resourceVersion"])
        {
            return new Result(409, null, "Conflict",
                $"Operation cannot be fulfilled on {kind.Plural} \"{name}\": the object has been modified; please apply your changes to the latest version and try again");
        }
        if (meta is not null && (string?)meta["name"] is { } bodyName && bodyName != name)
        {
            return new Result(400, null, "BadRequest", "the name of the object does not match the name of the request");
        }

        var next = (JsonObject)current.DeepClone();
        if (statusOnly)
        {
            next["status"] = obj["status"]?.DeepClone();
        }
        else
        {
            var spec = obj["spec"]?.DeepClone();
            if (!JsonNode.DeepEquals(spec, current["spec"]))
            {
                next["metadata"]!["generation"] = (long)current["metadata"]!["generation"]! + 1;
            }
            foreach (var (key, value) in obj)
            {
                if (key is "metadata" or "status" or "apiVersion" or "kind")
                {
                    continue;
                }
                next[key] = value?.DeepClone();
            }
            foreach (var key in current.Select(p => p.Key).Where(k => k is not ("metadata" or "status" or "apiVersion" or "kind") && !obj.ContainsKey(k)).ToList())
            {
                next.Remove(key);
            }
            if (!kind.HasStatus)
            {
                // Kinds without a status subresource are written whole.
                if (obj.ContainsKey("status"))
                {
                    next["status"] = obj["status"]?.DeepClone();
                }
            }
            var nextMeta = next["metadata"]!.AsObject();
            foreach (var field in new[] { "labels", "annotations", "finalizers", "ownerReferences" })
            {
                if (meta?[field] is { } value)
                {
                    nextMeta[field] = value.DeepClone();
                }
                else
                {
                    nextMeta.Remove(field);
                }
            }
        }

        if (JsonNode.DeepEquals(next, current))
        {
            return new Result(200, (JsonObject)current.DeepClone()); // a no-op write keeps its resourceVersion
        }
        if (next["metadata"]!["deletionTimestamp"] is not null && Finalizers(next).Count == 0)
        {
            _objects.Remove((kind, ns, name));
            next["metadata"]!["resourceVersion"] = Rv(++_resourceVersion);
            Remember(kind, "DELETED", next, current);
            return new Result(200, (JsonObject)next.DeepClone());
        }
        Store(kind, ns, name, next, "MODIFIED");
        return new Result(200, (JsonObject)next.DeepClone());
    }

    private Result Patch(ResourceKind kind, string ns, string name, JsonObject patch, bool statusOnly, string? contentType)
    {
        if (contentType is null || !contentType.StartsWith("application/merge-patch+json", StringComparison.Ordinal))
        {
            return new Result(415, null, "UnsupportedMediaType", $"only application/merge-patch+json is served, not {contentType}");
        }
        if (!_objects.TryGetValue((kind, ns, name), out var current))
        {
            return NotFound(kind, name);
        }
        var merged = (JsonObject)MergePatch(current.DeepClone(), patch)!;
        if ((string?)patch["metadata"]?["resourceVersion"] is null)
        {
            merged["metadata"]!["resourceVersion"] = current["metadata"]!["resourceVersion"]!.DeepClone();
        }
        return Replace(kind, ns, name, merged, statusOnly, checkVersion: true);
    }

    private static JsonNode? MergePatch(JsonNode? target, JsonNode? patch)
    {
        if (patch is not JsonObject patchObject)
        {
            return patch?.DeepClone();
        }
        var result = target as JsonObject ?? new JsonObject();
        foreach (var (key, value) in patchObject)
        {
            if (value is null)
            {
                result.Remove(key);
            }
            else
            {
                var existing = result[key];
                result.Remove(key);
                result[key] = MergePatch(existing?.DeepClone(), value);
            }
        }
        return result;
    }

    private Result DeleteObject(ResourceKind kind, string ns, string name, long? gracePeriodSeconds = null)
    {
        if (!_objects.TryGetValue((kind, ns, name), out var current))
        {
            return NotFound(kind, name);
        }
        var grace = gracePeriodSeconds
            ?? (long.TryParse(current["spec"]?["terminationGracePeriodSeconds"]?.ToJsonString(), CultureInfo.InvariantCulture, out var own) ? own : 30);
        if (kind.GracefulDeletion && grace > 0 && (string?)current["spec"]?["nodeName"] is { Length: > 0 }
            && current["metadata"]!["deletionTimestamp"] is null)
        {
            // A pod on a node: marked now, removed when the kubelet deletes it again with grace 0.
            var next = (JsonObject)current.DeepClone();
            next["metadata"]!["deletionTimestamp"] = Now(TimeSpan.FromSeconds(grace));
            next["metadata"]!["deletionGracePeriodSeconds"] = grace;
            Store(kind, ns, name, next, "MODIFIED");
            return new Result(200, (JsonObject)next.DeepClone());
        }
        if (Finalizers(current).Count > 0)
        {
            if (current["metadata"]!["deletionTimestamp"] is null)
            {
                var next = (JsonObject)current.DeepClone();
                next["metadata"]!["deletionTimestamp"] = Now();
                Store(kind, ns, name, next, "MODIFIED");
                return new Result(200, (JsonObject)next.DeepClone());
            }
            return new Result(200, (JsonObject)current.DeepClone());
        }
        _objects.Remove((kind, ns, name));
        var gone = (JsonObject)current.DeepClone();
        gone["metadata"]!["resourceVersion"] = Rv(++_resourceVersion);
        Remember(kind, "DELETED", gone, current);
        return new Result(200, (JsonObject)gone.DeepClone());
    }

    private static List<string> Finalizers(JsonObject obj) =>
        obj["metadata"]?["finalizers"] is JsonArray list ? [.. list.Select(f => (string)f!)] : [];

    private void Store(ResourceKind kind, string ns, string name, JsonObject obj, string type)
    {
        obj["metadata"]!["resourceVersion"] = Rv(++_resourceVersion);
        _objects.TryGetValue((kind, ns, name), out var previous);
        _objects[(kind, ns, name)] = obj;
        Remember(kind, type, obj, previous);
    }

    private void Remember(ResourceKind kind, string type, JsonObject obj, JsonObject? previous)
    {
        var rv = _resourceVersion;
        var snapshot = (JsonObject)obj.DeepClone();
        _history.Add((rv, kind, type, snapshot, previous));
        while (_history.Count > HistoryLimit)
        {
            _history.RemoveAt(0);
            _oldestRetained = _history[0].Rv;
        }
        foreach (var w in _watches)
        {
            if (w.Translate(kind, type, snapshot, previous) is { } seen)
            {
                w.Send(Event(seen, snapshot));
            }
        }
    }

    private static string Rv(long rv) => rv.ToString(CultureInfo.InvariantCulture);

    private static string Now(TimeSpan? later = null) =>
        (DateTimeOffset.UtcNow + (later ?? TimeSpan.Zero)).ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture);

    private static string Event(string type, JsonObject obj) =>
        new JsonObject { ["type"] = type, ["object"] = obj.DeepClone() }.ToJsonString();

    // ---- watch ---------------------------------------------------------------------------------

    private async Task ServeWatchAsync(HttpContext http, Route route)
    {
        var query = http.Request.Query;
        var fromText = query["resourceVersion"].ToString();
        var bookmarks = query["allowWatchBookmarks"].ToString() == "true";
        var timeout = int.TryParse(query["timeoutSeconds"], CultureInfo.InvariantCulture, out var seconds) && seconds > 0
            ? TimeSpan.FromSeconds(seconds)
            : TimeSpan.FromMinutes(30);

        if (!LabelSelector.TryParse(query["labelSelector"], out var selector, out var invalid))
        {
            Record(new ApiRequest("watch", route.Kind.Group, route.Kind.Plural, null, route.Namespace, 400));
            await WriteStatusAsync(http, 400, "BadRequest", invalid);
            return;
        }
        var watch = new Watch(route.Kind, route.Namespace, selector);
        lock (_lock)
        {
            _requests.Add(new ApiRequest("watch", route.Kind.Group, route.Kind.Plural, null, route.Namespace, 200));
            if (string.IsNullOrEmpty(fromText) || fromText == "0")
            {
                // No resourceVersion: the current objects as ADDED, then changes.
                foreach (var obj in _objects.Where(p => p.Key.Kind == route.Kind && (route.Namespace is null || p.Key.Ns == route.Namespace)
                    && (selector is null || selector.Matches(p.Value))))
                {
                    watch.Send(Event("ADDED", obj.Value));
                }
            }
            else if (!long.TryParse(fromText, CultureInfo.InvariantCulture, out var from) || from + 1 < _oldestRetained)
            {
                GoneAnswers++;
                watch.Send(new JsonObject
                {
                    ["type"] = "ERROR",
                    ["object"] = StatusObject(410, "Expired", $"too old resource version: {fromText} ({_oldestRetained - 1})"),
                }.ToJsonString());
                watch.Complete();
            }
            else
            {
                foreach (var (rv, kind, type, obj, previous) in _history.Where(h => h.Rv > from && h.Kind == route.Kind))
                {
                    if (watch.Translate(kind, type, obj, previous) is { } seen)
                    {
                        watch.Send(Event(seen, obj));
                    }
                }
            }
            if (!watch.Completed)
            {
                _watches.Add(watch);
            }
        }

        http.Response.StatusCode = 200;
        http.Response.ContentType = "application/json";
        await http.Response.Body.FlushAsync();
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(http.RequestAborted);
        deadline.CancelAfter(timeout);
        using var bookmarkTimer = bookmarks ? new Timer(_ => SendBookmark(watch), null, BookmarkInterval, BookmarkInterval) : null;
        try
        {
            await foreach (var line in watch.Reader.ReadAllAsync(deadline.Token))
            {
                await http.Response.WriteAsync(line + "\n", Encoding.UTF8, deadline.Token);
                await http.Response.Body.FlushAsync(deadline.Token);
            }
            if (watch.Aborted)
            {
                http.Abort();
            }
        }
        catch (OperationCanceledException)
        {
            // timeoutSeconds reached or the client went away: the stream ends normally.
        }
        finally
        {
            lock (_lock)
            {
                _watches.Remove(watch);
            }
        }
    }

    private void SendBookmark(Watch watch)
    {
        lock (_lock)
        {
            watch.Send(new JsonObject
            {
                ["type"] = "BOOKMARK",
                ["object"] = new JsonObject
                {
                    ["apiVersion"] = watch.Kind.ApiVersion,
                    ["kind"] = watch.Kind.Kind,
                    ["metadata"] = new JsonObject { ["resourceVersion"] = Rv(_resourceVersion) },
                },
            }.ToJsonString());
        }
    }

    private sealed class Watch(ResourceKind kind, string? ns, LabelSelector? selector)
    {
        private readonly Channel<string> _channel = Channel.CreateUnbounded<string>();

        public ResourceKind Kind => kind;

        public ChannelReader<string> Reader => _channel.Reader;

        public bool Completed { get; private set; }

        public bool Aborted { get; private set; }

        /// <summary>
        /// The event this watch sees for a change, or null. With a label selector, as the API server's
        /// watch cache does: an object that starts matching is ADDED, one that stops is DELETED.
        /// </summary>
        public string? Translate(ResourceKind k, string type, JsonObject obj, JsonObject? previous)
        {
            if (k != kind || (ns is not null && (string?)obj["metadata"]?["namespace"] != ns))
            {
                return null;
            }
            if (selector is null)
            {
                return type;
            }
            var now = selector.Matches(obj);
            var before = previous is not null && selector.Matches(previous);
            return type switch
            {
                "MODIFIED" => (before, now) switch
                {
                    (true, true) => "MODIFIED",
                    (false, true) => "ADDED",
                    (true, false) => "DELETED",
                    _ => null,
                },
                _ => now || before ? type : null,
            };
        }

        public void Send(string line) => _channel.Writer.TryWrite(line);

        public void Complete()
        {
            Completed = true;
            _channel.Writer.TryComplete();
        }

        public void Abort()
        {
            Aborted = true;
            Complete();
        }
    }

    private sealed record Route(ResourceKind Kind, string? Namespace, string? Name, string? Subresource)
    {
        // /api/v1[/namespaces/{ns}]/{plural}[/{name}[/{sub}]]
        // /apis/{group}/{version}[/namespaces/{ns}]/{plural}[/{name}[/{sub}]]
        public static Route? Parse(string path, List<ResourceKind> kinds)
        {
            var parts = path.Trim('/').Split('/');
            string group, version;
            int i;
            if (parts.Length >= 3 && parts[0] == "api")
            {
                (group, version, i) = ("", parts[1], 2);
            }
            else if (parts.Length >= 4 && parts[0] == "apis")
            {
                (group, version, i) = (parts[1], parts[2], 3);
            }
            else
            {
                return null;
            }
            string? ns = null;
            if (parts.Length > i + 2 && parts[i] == "namespaces")
            {
                ns = parts[i + 1];
                i += 2;
            }
            var plural = parts[i];
            var kind = kinds.FirstOrDefault(k => k.Group == group && k.Version == version && k.Plural == plural);
            if (kind is null || (ns is not null && !kind.Namespaced) || parts.Length > i + 3)
            {
                return null;
            }
            var name = parts.Length > i + 1 ? parts[i + 1] : null;
            var sub = parts.Length > i + 2 ? parts[i + 2] : null;
            if (sub is not null && sub != "status")
            {
                return null;
            }
            if (kind.Namespaced && ns is null && name is not null)
            {
                return null;
            }
            return new Route(kind, ns, name, sub);
        }
    }
}
