using System.Text;
using CrnpCloud.Redis;
using CrnpCloud.Testing;
using k8s.Models;

namespace CrnpCloud.Chart.Tests;

/// <summary>
/// redis.mode: standalone (the bundled single Redis), sentinel (Redis + Sentinel sidecars, failover)
/// and external; the legacy redis.enabled=false still means external.
/// </summary>
public sealed class RedisModeTests
{
    private const string Sentinel = "redis.mode=sentinel";
    private const string Domain = "crnpcloud-redis-headless.crnp-system.svc.cluster.local";

    private static IDictionary<string, string> Config(IEnumerable<object> objects) =>
        objects.OfType<V1ConfigMap>().Single(c => c.Metadata.Name == "crnpcloud-config").Data;

    [Fact]
    public void Sentinel_RendersThreeDataPodsWithSentinels_SpreadOverNodes_WithVolumesAPdbAndAHeadlessService()
    {
        var objects = Helm.Render(null, Sentinel);
        var set = Assert.Single(objects.OfType<V1StatefulSet>());
        Assert.Equal(("crnpcloud-redis", 3, "crnpcloud-redis-headless"), (set.Metadata.Name, set.Spec.Replicas, set.Spec.ServiceName));
        var pod = set.Spec.Template.Spec;
        Assert.Equal(["redis", "sentinel"], pod.Containers.Select(c => c.Name));
        Assert.Equal("docker.io/library/redis:8.10.2", Assert.Single(pod.Containers.Select(c => c.Image).Distinct()));
        Assert.All(pod.Containers, c => Assert.Contains(c.VolumeMounts, m => m.Name == "data" && m.MountPath == "/data"));
        Assert.Equal("1Gi", Assert.Single(set.Spec.VolumeClaimTemplates).Spec.Resources.Requests["storage"].ToString());
        Assert.Equal(["sh", "/scripts/prestop.sh"], pod.Containers[0].Lifecycle.PreStop.Exec.Command);

        var soft = Assert.Single(pod.Affinity.PodAntiAffinity.PreferredDuringSchedulingIgnoredDuringExecution);
        Assert.Equal("kubernetes.io/hostname", soft.PodAffinityTerm.TopologyKey);
        Assert.Equal(set.Spec.Selector.MatchLabels.OrderBy(kv => kv.Key), soft.PodAffinityTerm.LabelSelector.MatchLabels.OrderBy(kv => kv.Key));
        Assert.Null(pod.Affinity.PodAntiAffinity.RequiredDuringSchedulingIgnoredDuringExecution);
        var hard = Helm.Render(null, Sentinel, "redis.sentinel.antiAffinity=hard").OfType<V1StatefulSet>().Single().Spec.Template.Spec.Affinity.PodAntiAffinity;
        Assert.Equal("kubernetes.io/hostname", Assert.Single(hard.RequiredDuringSchedulingIgnoredDuringExecution).TopologyKey);
        Assert.Null(hard.PreferredDuringSchedulingIgnoredDuringExecution);

        var pdb = Assert.Single(objects.OfType<V1PodDisruptionBudget>(), p => p.Metadata.Name == "crnpcloud-redis");
        Assert.Equal("1", pdb.Spec.MaxUnavailable.Value);
        Assert.Equal(set.Spec.Selector.MatchLabels, pdb.Spec.Selector.MatchLabels);

        var headless = Assert.Single(objects.OfType<V1Service>(), s => s.Metadata.Name == "crnpcloud-redis-headless");
        Assert.Equal(("None", true), (headless.Spec.ClusterIP, headless.Spec.PublishNotReadyAddresses));
        Assert.Equal([6379, 26379], headless.Spec.Ports.Select(p => p.Port));
        // No ClusterIP Service in front of the data pods: two of three are replicas.
        Assert.DoesNotContain(objects.OfType<V1Service>(), s => s.Metadata.Name == "crnpcloud-redis");
        var policy = objects.OfType<V1NetworkPolicy>().Single(p => p.Metadata.Name == "crnpcloud-redis");
        Assert.Equal([6379, 26379], policy.Spec.Ingress.Single().Ports.Select(p => int.Parse(p.Port.Value, System.Globalization.CultureInfo.InvariantCulture)));
    }

    [Fact]
    public void Sentinel_ConfiguresHostnamesTimingsAndThePassword_ForDataNodesAndSentinels()
    {
        var objects = Helm.Render(null, Sentinel, "redis.sentinel.downAfterMilliseconds=3000", "redis.sentinel.failoverTimeout=20000");
        var scripts = objects.OfType<V1ConfigMap>().Single(c => c.Metadata.Name == "crnpcloud-redis-scripts").Data;
        Assert.Equal(["common.sh", "node.sh", "prestop.sh", "sentinel.sh"], scripts.Keys.Order());
        foreach (var line in new[] { "sentinel resolve-hostnames yes", "sentinel announce-hostnames yes", "sentinel announce-ip $me",
            "requirepass", "sentinel auth-pass", "sentinel sentinel-pass", "sentinel down-after-milliseconds $MASTER_SET", "sentinel failover-timeout $MASTER_SET" })
        {
            Assert.Contains(line, scripts["sentinel.sh"], StringComparison.Ordinal);
        }
        foreach (var line in new[] { "requirepass", "masterauth", "replica-announce-ip $me", "appendonly yes", "appendfsync everysec", "replicaof" })
        {
            Assert.Contains(line, scripts["node.sh"], StringComparison.Ordinal);
        }

        var set = objects.OfType<V1StatefulSet>().Single();
        var redis = set.Spec.Template.Spec.Containers.Single(c => c.Name == "redis");
        var sentinel = set.Spec.Template.Spec.Containers.Single(c => c.Name == "sentinel");
        Assert.Equal(Domain, redis.Env.Single(e => e.Name == "DOMAIN").Value);
        Assert.Equal(RedisServer.AofRewriteMinSize, redis.Env.Single(e => e.Name == "AOF_REWRITE_MIN_SIZE").Value);
        Assert.Contains("auto-aof-rewrite-min-size $AOF_REWRITE_MIN_SIZE", scripts["node.sh"], StringComparison.Ordinal);
        Assert.Equal("crnpcloud", sentinel.Env.Single(e => e.Name == "MASTER_SET").Value);
        Assert.Equal(("2", "3000", "20000"), (sentinel.Env.Single(e => e.Name == "QUORUM").Value,
            sentinel.Env.Single(e => e.Name == "DOWN_AFTER_MILLISECONDS").Value, sentinel.Env.Single(e => e.Name == "FAILOVER_TIMEOUT").Value));
        foreach (var container in new[] { redis, sentinel })
        {
            var password = container.Env.Single(e => e.Name == "REDIS_PASSWORD").ValueFrom.SecretKeyRef;
            Assert.Equal(("crnpcloud-redis-auth", "password"), (password.Name, password.Key));
        }
        var secret = objects.OfType<V1Secret>().Single(s => s.Metadata.Name == "crnpcloud-redis-auth");
        Assert.Equal(32, Encoding.UTF8.GetString(secret.Data["password"]).Length);
    }

    [Fact]
    public void Sentinel_TheServicesConnectThroughTheSentinels_WithThePasswordFromTheSecret()
    {
        var objects = Helm.Render(null, Sentinel);
        var password = Encoding.UTF8.GetString(objects.OfType<V1Secret>().Single(s => s.Metadata.Name == "crnpcloud-redis-auth").Data["password"]);
        var sentinels = string.Join(",", Enumerable.Range(0, 3).Select(i => $"crnpcloud-redis-{i}.{Domain}:26379"));
        foreach (var component in new[] { "edge", "ingest", "delivery", "operator" })
        {
            var env = ChartEnvironment.For(objects, component, "pod", "crnp-system");
            Assert.Equal($"{sentinels},serviceName=crnpcloud", env["Crnp__Store__Redis"]);
            Assert.Equal(password, env["Crnp__Store__Password"]);
            Assert.Equal(("1", "1s"), (env["Crnp__Store__MinReplicas"], env["Crnp__Store__ReplicationTimeout"]));
        }
        // The store reads that form as a Sentinel configuration.
        var options = StackExchange.Redis.ConfigurationOptions.Parse(Config(objects)["Crnp__Store__Redis"]);
        Assert.Equal("crnpcloud", options.ServiceName);
        Assert.Equal(3, options.EndPoints.Count);

        // The user's own Secret instead of the chart's.
        var own = Helm.Render(null, Sentinel, "redis.existingSecret=my-redis", "redis.existingSecretKey=pw", "redis.minReplicas=2", "redis.replicationTimeout=00:00:00.500");
        Assert.DoesNotContain(own.OfType<V1Secret>(), s => s.Metadata.Name == "crnpcloud-redis-auth");
        var reference = own.OfType<V1Deployment>().Single(d => d.Metadata.Name == "crnpcloud-edge").Spec.Template.Spec.Containers[0].Env.Single(e => e.Name == "Crnp__Store__Password").ValueFrom.SecretKeyRef;
        Assert.Equal(("my-redis", "pw"), (reference.Name, reference.Key));
        Assert.Equal(("2", "00:00:00.500"), (Config(own)["Crnp__Store__MinReplicas"], Config(own)["Crnp__Store__ReplicationTimeout"]));
    }

    [Fact]
    public void Standalone_IsTheDefault_AndUnchanged_WithoutReplicasToWaitFor()
    {
        var objects = Helm.Render();
        Assert.Equal("crnpcloud-redis:6379", Config(objects)["Crnp__Store__Redis"]);
        Assert.Equal("0", Config(objects)["Crnp__Store__MinReplicas"]);
        Assert.Equal(1, objects.OfType<V1StatefulSet>().Single().Spec.Replicas);
        Assert.DoesNotContain(objects.OfType<V1Secret>(), s => s.Metadata.Name == "crnpcloud-redis-auth");
        Assert.All(objects.OfType<V1Deployment>(), d => Assert.DoesNotContain(d.Spec.Template.Spec.Containers[0].Env ?? [], e => e.Name == "Crnp__Store__Password"));
    }

    [Theory]
    [InlineData(new[] { "redis.enabled=false", "redis.url=redis.example:6379\\,ssl=true" }, "redis.example:6379,ssl=true")]
    [InlineData(new[] { "redis.mode=external", "redis.url=redis://r.example:6379" }, "redis://r.example:6379")]
    [InlineData(new[] { "redis.mode=external", "redis.external.address=s1:26379\\,s2:26379", "redis.external.sentinelServiceName=mymaster" }, "s1:26379,s2:26379,serviceName=mymaster")]
    [InlineData(new[] { "redis.mode=external", "redis.external.address=n1:6379\\,n2:6379\\,n3:6379" }, "n1:6379,n2:6379,n3:6379")]
    [InlineData(new[] { "redis.mode=external", "redis.external.address=redis+sentinel://s1:26379\\,s2:26379/mymaster" }, "s1:26379,s2:26379,serviceName=mymaster")]
    [InlineData(new[] { "redis.mode=external", "redis.external.address=redis+sentinel://s1:26379/mymaster/3" }, "s1:26379,serviceName=mymaster,defaultDatabase=3")]
    public void External_AndTheLegacyEnabledFalse_BundleNoRedis_AndConnectWhereTold(string[] sets, string expected)
    {
        var objects = Helm.Render(null, [.. sets, "redis.existingSecret=ext", "redis.minReplicas=1"]);
        Assert.Empty(objects.OfType<V1StatefulSet>());
        Assert.DoesNotContain(objects.OfType<V1NetworkPolicy>(), p => p.Metadata.Name == "crnpcloud-redis");
        Assert.Equal(expected, Config(objects)["Crnp__Store__Redis"]);
        Assert.Equal("1", Config(objects)["Crnp__Store__MinReplicas"]);
        var reference = objects.OfType<V1Deployment>().Single(d => d.Metadata.Name == "crnpcloud-ingest").Spec.Template.Spec.Containers[0].Env.Single(e => e.Name == "Crnp__Store__Password").ValueFrom.SecretKeyRef;
        Assert.Equal(("ext", "password"), (reference.Name, reference.Key));
    }

    [Theory]
    [InlineData("redis.mode=cluster", "redis.mode must be one of the following")]
    [InlineData("redis.mode=external", "redis: Must validate at least one schema (anyOf)")]
    [InlineData("redis.mode=sentinel,redis.sentinel.replicas=2", "redis.sentinel.replicas: Must be greater than or equal to 3")]
    [InlineData("redis.minReplicas=1", "redis.minReplicas: Must be less than or equal to 0")]
    [InlineData("redis.mode=sentinel,redis.minReplicas=3", "redis.minReplicas must be below redis.sentinel.replicas (3)")]
    [InlineData("redis.mode=sentinel,redis.sentinel.antiAffinity=maybe", "redis.sentinel.antiAffinity must be one of the following")]
    [InlineData("redis.mode=sentinel,redis.sentinel.quorum=4", "redis.sentinel.quorum (4) cannot exceed redis.sentinel.replicas (3)")]
    [InlineData("redis.mode=sentinel,redis.sentinel.sentinels=3", "Additional property sentinels is not allowed")]
    [InlineData("redis.replicationTimeout=1sec", "redis.replicationTimeout: Does not match pattern")]
    [InlineData("redis.enabled=false,redis.url=x:6379,redis.mode=sentinel", "redis.enabled=false (legacy: an external Redis) contradicts redis.mode=sentinel")]
    [InlineData("redis.mode=external,redis.external.address=redis+sentinel://:pw@s1:26379/m", "no password in a redis+sentinel:// URL")]
    [InlineData("redis.mode=external,redis.external.address=redis+sentinel://s1:26379", "a redis+sentinel:// URL needs the service name")]
    public void TheValuesSchemaAndTemplates_RefuseWrongStoreSettings(string set, string expected)
    {
        var (code, _, errors) = Helm.Run("template", "crnpcloud", Helm.Chart, "--set", set);
        Assert.NotEqual(0, code);
        Assert.Contains(expected, errors, StringComparison.Ordinal);
    }

    /// <summary>
    /// The rendered scripts, run as they run in the pods, but as processes on this host (Debian
    /// redis-server and redis-sentinel): three pods' Redis and Sentinel on their own ports, the pod DNS
    /// names in a private /etc/hosts (a mount namespace). The Sentinels must report one master and two
    /// replicas; killing the master must fail over to another pod, and the old master, restarted, must
    /// come back as a replica of the new one.
    /// </summary>
    [SkippableFact]
    public void Sentinel_TheRenderedScripts_BootstrapAndFailOver()
    {
        var missing = Environment.UserName != "root" ? "needs root (a mount namespace for a private /etc/hosts)"
            : !File.Exists("/usr/bin/redis-sentinel") || !File.Exists("/usr/bin/unshare") ? "needs redis-server, redis-sentinel and unshare (tests/tools/install-deps.sh installs them)"
            : null;
        // Where CI runs it (root, install-deps.sh ran) a missing prerequisite is a failure, not a skip.
        Assert.True(missing is null || NetHost.RequiredBy is null, $"{missing}; {NetHost.RequiredBy} is set, so this is a failure, not a skip");
        Skip.If(missing is not null, missing + "; skipped (CI=true would make this a failure)");
        var scripts = Helm.Render(null, Sentinel).OfType<V1ConfigMap>().Single(c => c.Metadata.Name == "crnpcloud-redis-scripts").Data;
        var dir = Directory.CreateTempSubdirectory("crnp-sentinel-");
        try
        {
            var scriptDir = Directory.CreateDirectory(Path.Combine(dir.FullName, "scripts")).FullName;
            foreach (var (name, text) in scripts)
            {
                File.WriteAllText(Path.Combine(scriptDir, name), text);
            }
            var ports = Enumerable.Range(0, 6).Select(_ => FreePort()).ToArray();
            var hosts = File.ReadAllText("/etc/hosts") + string.Concat(Enumerable.Range(0, 3).Select(i => $"127.0.0.1 r-{i}.pods.test\n"));
            File.WriteAllText(Path.Combine(dir.FullName, "hosts"), hosts);
            var t = dir.FullName;
            var harness = $$"""
                set -u
                mount --bind {{t}}/hosts /etc/hosts
                export DOMAIN=pods.test REPLICAS=3 MASTER_SET=mm REDIS_PASSWORD=pw-{{Guid.NewGuid():N}} SCRIPTS={{scriptDir}}
                export DOWN_AFTER_MILLISECONDS=1000 FAILOVER_TIMEOUT=5000 REDISCLI_AUTH=$REDIS_PASSWORD
                export SENTINEL_PORT_0={{ports[3]}} SENTINEL_PORT_1={{ports[4]}} SENTINEL_PORT_2={{ports[5]}}
                RP0={{ports[0]}}; RP1={{ports[1]}}; RP2={{ports[2]}}
                pids=""
                trap 'kill $pids 2>/dev/null' EXIT
                run() { # pod container
                  eval port=\$RP$1; mkdir -p {{t}}/d$1 {{t}}/t$1
                  POD_NAME=r-$1 REDIS_PORT=$port DATA_DIR={{t}}/d$1 TMPDIR={{t}}/t$1 sh {{scriptDir}}/$2.sh >> {{t}}/$2$1.log 2>&1 &
                  pids="$pids $!"; eval "pid_$2_$1=$!"; }
                ask() { redis-cli -p $SENTINEL_PORT_0 "$@" 2>/dev/null | paste -sd' ' -; }
                for i in 0 1 2; do run $i node; run $i sentinel; sleep 2; done
                for n in $(seq 60); do
                  ask SENTINEL master mm | grep -q 'num-slaves 2 .*num-other-sentinels 2' && break; sleep 1
                done
                echo "master: $(ask SENTINEL get-master-addr-by-name mm)"
                echo "replicas: $(ask SENTINEL master mm | grep -o 'num-slaves [0-9]*')"
                echo "sentinels: $(ask SENTINEL master mm | grep -o 'num-other-sentinels [0-9]*')"
                redis-cli -p $RP0 SET before-failover yes >/dev/null
                redis-cli -p $RP0 WAIT 2 2000 >/dev/null
                kill -9 $pid_node_0
                for n in $(seq 60); do
                  ask SENTINEL get-master-addr-by-name mm | grep -qv '^r-0' && break; sleep 1
                done
                echo "after kill: $(ask SENTINEL get-master-addr-by-name mm)"
                new=$(ask SENTINEL get-master-addr-by-name mm | cut -d' ' -f2)
                echo "data: $(redis-cli -p $new GET before-failover)"
                run 0 node
                for n in $(seq 60); do
                  redis-cli -p $RP0 INFO replication 2>/dev/null | grep -q master_link_status:up && break; sleep 1
                done
                echo "restarted: $(redis-cli -p $RP0 INFO replication | grep -E '^(role|master_host|master_link_status):' | tr -d '\r' | paste -sd' ' -)"
                """;
            File.WriteAllText(Path.Combine(t, "harness.sh"), harness);
            var (code, output, errors) = Tool.Run("unshare", ["-m", "bash", Path.Combine(t, "harness.sh")], TimeSpan.FromMinutes(3));
            var logs = string.Concat(Directory.GetFiles(t, "*.log").Order().Select(f => $"\n== {Path.GetFileName(f)}\n{string.Join('\n', File.ReadLines(f).TakeLast(15))}"));
            var why = $"exit {code}\n{output}\n{errors}{logs}";
            Assert.True(code == 0, why);
            Assert.Contains("master: r-0.pods.test", output, StringComparison.Ordinal);
            Assert.Contains("replicas: num-slaves 2", output, StringComparison.Ordinal);
            Assert.Contains("sentinels: num-other-sentinels 2", output, StringComparison.Ordinal);
            Assert.Matches(@"after kill: r-[12]\.pods\.test", output);
            Assert.Contains("data: yes", output, StringComparison.Ordinal);
            Assert.Matches(@"restarted: role:slave master_host:r-[12]\.pods\.test master_link_status:up", output);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    private static int FreePort()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        return ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
    }
}
