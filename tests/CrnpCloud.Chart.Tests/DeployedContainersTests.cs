using System.Globalization;
using System.Net;
using CrnpCloud.FakeKube;
using CrnpCloud.Ingest.V1;
using CrnpCloud.Protocol;
using CrnpCloud.Testing;
using Grpc.Core;
using Grpc.Net.Client;
using k8s.Models;
using Xunit.Abstractions;
using IngestNameValue = CrnpCloud.Ingest.V1.NameValue;

namespace CrnpCloud.Chart.Tests;

/// <summary>
/// The release as deployed: the four images (charts/tools/build-images.sh) run as containers beside a
/// Redis container and the fake API server, each configured only through the environment the chart
/// renders for it (ConfigMap, Secret references, fieldRefs; addresses and ports moved onto this host's
/// network), read-only root filesystem, uid 1654, no capabilities. A CRNP listener on the host registers
/// through the edge container, numbered events go in through the ingest container with the chart's
/// publish token, one delivery container is killed with SIGKILL mid-stream, and the ledger must show
/// every acknowledged event, in order. The operator container, on the in-cluster configuration, turns a
/// CrnpClient into a registration that receives the Node membership it publishes.
/// </summary>
[Collection(ImageCollection.Name)]
public sealed class DeployedContainersTests(ImageFixture images, ITestOutputHelper output)
{
    private const string Namespace = "crnp-system";
    private static readonly ResourceKind Clients = new("crnp.cloud", "v1alpha1", "crnpclients", "CrnpClient", Namespaced: true);
    private static readonly ResourceKind Servers = new("crnp.cloud", "v1alpha1", "crnpservers", "CrnpServer", Namespaced: true);
    private static readonly ResourceKind ConfigMaps = new("", "v1", "configmaps", "ConfigMap", Namespaced: true, HasStatus: false);

    [SkippableFact]
    public async Task ChartEnvironment_OnTheImages_DeliversInOrder_ThroughAWorkersKill_AndTheOperatorRegistersACrnpClient()
    {
        Skip.If(images.Unavailable is not null, images.Unavailable);

        var rendered = Helm.Render();
        var run = $"crnp-{Environment.ProcessId}-{Random.Shared.Next(1000, 9999)}";
        var containers = new List<string>();
        var serviceAccount = Directory.CreateTempSubdirectory("crnp-sa-").FullName;
        try
        {
            await using var kube = await FakeKubeApiServer.StartInClusterAsync(serviceAccount, "operator-sa-token", Namespace, Clients, Servers, ConfigMaps);
            if (OperatingSystem.IsLinux())
            {
                // Readable by the pod's uid 1654, as the kubelet's projected volume is.
                File.SetUnixFileMode(serviceAccount, (UnixFileMode)0b111_101_101);
                foreach (var file in Directory.GetFiles(serviceAccount))
                {
                    File.SetUnixFileMode(file, (UnixFileMode)0b110_100_100);
                }
            }
            kube.Put(ResourceKind.Nodes, KubeObjects.Node("node-a", ready: true));

            var redisPort = RedisServer.FreePort();
            containers.Add(StartRedis(images.TestRedisImage(), run, redisPort));
            var ports = new Dictionary<string, int>
            {
                ["Crnp__Edge__Port"] = RedisServer.FreePort(),
                ["Crnp__Ingest__Port"] = RedisServer.FreePort(),
            };
            var hostNetwork = new Dictionary<string, string>
            {
                ["Crnp__Store__Redis"] = $"127.0.0.1:{redisPort}",
                ["Crnp__Edge__Port"] = ports["Crnp__Edge__Port"].ToString(CultureInfo.InvariantCulture),
                ["Crnp__Ingest__Port"] = ports["Crnp__Ingest__Port"].ToString(CultureInfo.InvariantCulture),
                ["Crnp__Operator__IngestAddress"] = $"http://127.0.0.1:{ports["Crnp__Ingest__Port"]}",
            };

            var management = new Dictionary<string, int>();
            foreach (var (component, name) in new[] { ("edge", "edge"), ("ingest", "ingest"), ("delivery", "delivery-1"), ("delivery", "delivery-2"), ("operator", "operator") })
            {
                var env = ChartEnvironment.For(rendered, component, podName: $"{run}-{name}", Namespace);
                management[name] = RedisServer.FreePort();
                var overrides = new Dictionary<string, string>(hostNetwork) { ["Crnp__Management__Port"] = management[name].ToString(CultureInfo.InvariantCulture) };
                foreach (var (key, value) in overrides.Where(o => env.ContainsKey(o.Key)))
                {
                    env[key] = value; // only names the chart sets; the values move onto this host's network
                }
                var extra = new List<string>();
                if (component == "operator")
                {
                    // What the kubelet gives every pod with a service account token mounted.
                    env["KUBERNETES_SERVICE_HOST"] = "127.0.0.1";
                    env["KUBERNETES_SERVICE_PORT"] = kube.Address.Port.ToString(CultureInfo.InvariantCulture);
                    extra.AddRange(["--volume", $"{serviceAccount}:/var/run/secrets/kubernetes.io/serviceaccount:ro"]);
                }
                containers.Add(StartService($"{run}-{name}", images.Image(component), env, extra));
            }
            foreach (var (name, port) in management)
            {
                await Eventually.TrueAsync(() => Healthy(port), $"{name} answers /healthz", TimeSpan.FromSeconds(60));
            }
            foreach (var container in containers.Skip(1))
            {
                Assert.Equal("1654", Uid(container));
            }

            // A CRNP client on the host registers through the edge container.
            await using var listener = CrnpTestListener.Start();
            var edge = new IPEndPoint(IPAddress.Loopback, ports["Crnp__Edge__Port"]);
            var reply = await CrnpTestClient.RegisterAsync(edge, new CallbackRegistration(RegistrationType.AddClient, listener.Address.Port,
                EquatableList.Of(new EventRegistration("EC_Cluster", "ESC_cluster_r_state"))));
            Assert.Equal(Protocol.StatusCode.Ok, reply.Status);

            // Numbered events through the ingest container, with the token the chart's Secret holds.
            var token = ChartEnvironment.For(rendered, "operator", "op", Namespace).GetValueOrDefault("Crnp__Operator__IngestToken");
            Assert.False(string.IsNullOrEmpty(token), "the chart's defaults authenticate the ingest and give the operator the publish token");
            using var channel = GrpcChannel.ForAddress($"http://127.0.0.1:{ports["Crnp__Ingest__Port"]}");
            var ingest = new EventIngest.EventIngestClient(channel);
            const int total = 150;
            var acknowledged = new List<int>();
            for (var n = 0; n < total; n++)
            {
                if (n == total / 3)
                {
                    Podman.Must("kill", "--signal", "KILL", $"{run}-delivery-1");
                    output.WriteLine($"delivery-1 killed with SIGKILL after {n} acknowledged events");
                }
                await PublishAsync(ingest, token, n);
                acknowledged.Add(n);
                await Task.Delay(20);
            }

            await Eventually.TrueAsync(() => Task.FromResult(acknowledged.All(new HashSet<int>(Numbers(listener)).Contains)),
                "every acknowledged event reaches the listener", TimeSpan.FromSeconds(90));
            var received = Numbers(listener);
            var backwards = received.Zip(received.Skip(1)).Count(p => p.Second < p.First);
            output.WriteLine($"ledger: {acknowledged.Count} acknowledged, {received.Distinct().Count()} distinct received, {received.Count - received.Distinct().Count()} duplicates, {backwards} backwards, 0 missing");
            Assert.Equal(0, backwards);

            // README step 4: crnpctl with the chart's publish token publishes; the admin API refuses that token.
            var crnpctl = ServiceProcess.BuiltDll("CrnpCloud.Cli", "crnpctl");
            var tokenEnv = new Dictionary<string, string> { ["CRNP_TOKEN"] = token ?? "" };
            var ingestAddress = $"127.0.0.1:{ports["Crnp__Ingest__Port"]}";
            var published = Tool.Run("dotnet", [crnpctl, "publish", "--ingest", ingestAddress, "--class", "EC_Cluster", "--subclass", "ESC_cluster_r_state",
                "--nv", "r_name=ledger", "--nv", $"seq={total}"], TimeSpan.FromMinutes(1), tokenEnv);
            Assert.True(published.Code == 0, $"crnpctl publish: exit {published.Code}: {published.Output}{published.Errors}");
            await Eventually.TrueAsync(() => Task.FromResult(Numbers(listener).Contains(total)), "crnpctl's event reaches the listener", TimeSpan.FromSeconds(30));
            var admin = Tool.Run("dotnet", [crnpctl, "clients", "--ingest", ingestAddress], TimeSpan.FromMinutes(1), tokenEnv);
            Assert.Equal(2, admin.Code);
            Assert.Contains("refused this token", admin.Output + admin.Errors, StringComparison.Ordinal);

            // The operator container (in-cluster configuration) turns a CrnpClient into a registration.
            await using var declared = CrnpTestListener.Start();
            kube.Put(Clients, new System.Text.Json.Nodes.JsonObject
            {
                ["apiVersion"] = "crnp.cloud/v1alpha1",
                ["kind"] = "CrnpClient",
                ["metadata"] = new System.Text.Json.Nodes.JsonObject { ["name"] = "declared", ["namespace"] = "apps" },
                ["spec"] = new System.Text.Json.Nodes.JsonObject
                {
                    ["address"] = "127.0.0.1",
                    ["port"] = declared.Address.Port,
                    ["events"] = new System.Text.Json.Nodes.JsonArray(new System.Text.Json.Nodes.JsonObject { ["class"] = "EC_Cluster", ["subclass"] = "ESC_cluster_membership" }),
                },
            });
            await declared.WaitForAsync(1, TimeSpan.FromSeconds(60));
            Assert.Equal("node-a", string.Join(",", declared.Events[0].NameValues.Single(p => p.Name == "node_list").Values));
            Assert.Contains("Bearer operator-sa-token", kube.Credentials);
            await Eventually.TrueAsync(() => Task.FromResult(Registered(kube)), "the CrnpClient's status says Registered=True", TimeSpan.FromSeconds(30));
        }
        catch
        {
            foreach (var container in containers)
            {
                output.WriteLine($"===== podman logs {container}");
                output.WriteLine(Podman.Logs(container));
            }
            throw;
        }
        finally
        {
            Podman.Remove([.. containers]);
            Directory.Delete(serviceAccount, recursive: true);
        }
    }

    private static bool Registered(FakeKubeApiServer kube) =>
        kube.Get(Clients, "apps", "declared")?["status"]?["conditions"] is System.Text.Json.Nodes.JsonArray conditions
        && conditions.Any(c => (string?)c!["type"] == "Registered" && (string?)c["status"] == "True");

    private static string StartRedis(string image, string run, int port)
    {
        var name = $"{run}-redis";
        // The chart's Redis arguments; --port/--bind because the containers share this host's network.
        Podman.Must("run", "--detach", "--name", name, "--network", "host", "--read-only", "--tmpfs", "/data:mode=1777",
            image, "--port", port.ToString(CultureInfo.InvariantCulture), "--bind", "127.0.0.1",
            "--appendonly", "yes", "--appendfsync", "everysec", "--dir", "/data", "--save", "", "--auto-aof-rewrite-min-size", RedisServer.AofRewriteMinSize);
        return name;
    }

    private static string StartService(string name, string image, Dictionary<string, string> env, List<string> extra)
    {
        // The chart's security context: uid/gid 1654, read-only root, an emptyDir /tmp, no capabilities.
        var args = new List<string>
        {
            "run", "--detach", "--name", name, "--network", "host", "--user", "1654:1654", "--read-only",
            "--tmpfs", "/tmp:mode=1777", "--cap-drop", "ALL", "--security-opt", "no-new-privileges",
        };
        foreach (var (key, value) in env)
        {
            args.AddRange(["--env", $"{key}={value}"]);
        }
        args.AddRange(extra);
        args.Add(image);
        Podman.Must([.. args]);
        return name;
    }

    /// <summary>The real, effective, saved and filesystem uid of the container's process, read on the host (the image has no ps).</summary>
    private static string Uid(string container)
    {
        var pid = Podman.Must("inspect", "--format", "{{.State.Pid}}", container);
        var uids = File.ReadAllLines($"/proc/{pid}/status").Single(l => l.StartsWith("Uid:", StringComparison.Ordinal))
            .Split((char[])['\t', ' '], StringSplitOptions.RemoveEmptyEntries).Skip(1).Distinct().ToList();
        return string.Join(",", uids);
    }

    private static async Task<bool> Healthy(int port)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        try
        {
            return (await http.GetAsync(new Uri($"http://127.0.0.1:{port}/healthz"))).IsSuccessStatusCode;
        }
        catch (HttpRequestException)
        {
            return false;
        }
        catch (TaskCanceledException)
        {
            return false;
        }
    }

    private static async Task PublishAsync(EventIngest.EventIngestClient ingest, string? token, int n)
    {
        var text = n.ToString(CultureInfo.InvariantCulture);
        var request = new PublishRequest
        {
            Event = new Event { Class = "EC_Cluster", Subclass = "ESC_cluster_r_state" },
            IdempotencyKey = "containers-" + text,
        };
        request.Event.Nvpairs.Add(new IngestNameValue { Name = "r_name", Values = { "ledger" } });
        request.Event.Nvpairs.Add(new IngestNameValue { Name = "seq", Values = { text } });
        var headers = token is { Length: > 0 } ? new Metadata { { "authorization", "Bearer " + token } } : null;
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await ingest.PublishAsync(request, headers, deadline: DateTime.UtcNow.AddSeconds(5));
                return;
            }
            catch (RpcException ex) when (ex.StatusCode is Grpc.Core.StatusCode.Unavailable or Grpc.Core.StatusCode.DeadlineExceeded && attempt < 5)
            {
                await Task.Delay(200); // same idempotency key: at most once in the store
            }
        }
    }

    private static List<int> Numbers(CrnpTestListener listener) =>
        [.. listener.Events.Where(e => e.Subclass == "ESC_cluster_r_state")
            .Select(e => int.Parse(e.NameValues.Single(p => p.Name == "seq").Values[0], CultureInfo.InvariantCulture))];
}
