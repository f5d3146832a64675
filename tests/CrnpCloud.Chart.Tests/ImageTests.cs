using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using CrnpCloud.FakeKube;
using CrnpCloud.Testing;
using Xunit.Abstractions;

namespace CrnpCloud.Chart.Tests;

/// <summary>
/// The images charts/tools/build-images.sh builds (services/Container.props), run as the chart runs
/// them: read-only root filesystem with a tmpfs on /tmp, uid 1654, here on the host network. Edge,
/// ingest and delivery start on the embedded in-memory store; the operator against the fake API server.
/// </summary>
[Collection(ImageCollection.Name)]
public sealed class ImageTests(ImageFixture images, ITestOutputHelper output)
{
    private static readonly ResourceKind Clients = new("crnp.cloud", "v1alpha1", "crnpclients", "CrnpClient", Namespaced: true);
    private static readonly ResourceKind Servers = new("crnp.cloud", "v1alpha1", "crnpservers", "CrnpServer", Namespaced: true);
    private static readonly string Version = File.ReadAllText(Path.Combine(ServiceProcess.RepoRoot(), "VERSION")).Trim();

    [SkippableTheory]
    [InlineData("edge", "CrnpCloud.Edge")]
    [InlineData("ingest", "CrnpCloud.Ingest")]
    [InlineData("delivery", "CrnpCloud.Delivery")]
    [InlineData("operator", "CrnpCloud.Operator")]
    public void Image_RunsTheApphostAsUid1654_WithoutAShell_AndCarriesTheLabels(string name, string assembly)
    {
        Skip.If(images.Unavailable is not null, images.Unavailable);
        var inspect = images.Podman("image", "inspect", images.Image(name));
        Assert.True(inspect.Code == 0, inspect.Errors);
        using var json = JsonDocument.Parse(inspect.Output);
        var config = json.RootElement[0].GetProperty("Config");

        Assert.Equal("1654", config.GetProperty("User").GetString());
        Assert.Equal(new[] { $"/app/{assembly}" }, config.GetProperty("Entrypoint").EnumerateArray().Select(e => e.GetString()).ToArray());
        var environment = config.GetProperty("Env").EnumerateArray().Select(e => e.GetString()).ToList();
        Assert.Contains("ASPNETCORE_HTTP_PORTS=", environment);
        Assert.Contains("ASPNETCORE_URLS=", environment);
        Assert.Contains("DOTNET_gcServer=0", environment);

        var labels = config.GetProperty("Labels");
        Assert.Equal("https://github.com/crnpcloud/crnpcloud", labels.GetProperty("org.opencontainers.image.source").GetString());
        Assert.Equal(Version, labels.GetProperty("org.opencontainers.image.version").GetString());
        Assert.Equal($"crnpcloud-{name}", labels.GetProperty("org.opencontainers.image.title").GetString());
        var revision = labels.GetProperty("org.opencontainers.image.revision").GetString();
        Assert.Matches("^[0-9a-f]{40}$", revision);
        if (Environment.GetEnvironmentVariable("CRNP_IMAGE_ARCHIVES") is null or "")
        {
            var head = ImageFixture.Run("git", ["-C", ServiceProcess.RepoRoot(), "rev-parse", "HEAD"]);
            Assert.Equal(head.Output.Trim(), revision);
        }

        // No shell to exec into: the base has no /bin/sh (nor any other program).
        var shell = images.Podman("run", "--rm", "--network", "none", "--entrypoint", "/bin/sh", images.Image(name), "-c", "true");
        Assert.NotEqual(0, shell.Code);
        Assert.Contains("/bin/sh", shell.Errors, StringComparison.Ordinal);
    }

    [SkippableTheory]
    [InlineData("edge", "Crnp__Edge__Port")]
    [InlineData("ingest", "Crnp__Ingest__Port")]
    [InlineData("delivery", null)]
    public async Task Service_StartsOnAReadOnlyRoot_AsUid1654_AndAnswersHealthAndReadiness(string name, string? portSetting)
    {
        Skip.If(images.Unavailable is not null, images.Unavailable);
        var management = FreePort();
        var environment = new Dictionary<string, string> { ["Crnp__Management__Port"] = management.ToString(System.Globalization.CultureInfo.InvariantCulture) };
        if (portSetting is not null)
        {
            environment[portSetting] = FreePort().ToString(System.Globalization.CultureInfo.InvariantCulture);
        }
        await using var container = Container.Start(images, output, name, environment, []);

        await container.WaitForHttpAsync(management, "/healthz");
        // The in-memory store answers, and for delivery a lease round has run.
        await container.WaitForHttpAsync(management, "/readyz");
        container.AssertRunsReadOnlyAsUid1654();
    }

    [SkippableFact]
    public async Task Operator_AnswersVersion_AndInItsImageTakesTheLeaseFromTheApiServer()
    {
        Skip.If(images.Unavailable is not null, images.Unavailable);
        var version = images.Podman("run", "--rm", "--read-only", "--network", "none", images.Image("operator"), "--version");
        Assert.True(version.Code == 0, version.Errors);
        Assert.StartsWith(Version, version.Output.Trim(), StringComparison.Ordinal);

        await using var kube = await FakeKubeApiServer.StartAsync(Clients, Servers);
        kube.Put(ResourceKind.Nodes, KubeObjects.Node("node-a", ready: true));
        var dir = Directory.CreateTempSubdirectory("crnp-image-kube-");
        try
        {
            // Readable by uid 1654 inside the container, which mounts it read-only.
            var kubeconfig = kube.WriteKubeconfig(dir.FullName);
            if (OperatingSystem.IsLinux())
            {
                File.SetUnixFileMode(dir.FullName, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
                    | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
                File.SetUnixFileMode(kubeconfig, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
            }
            var management = FreePort();
            await using var container = Container.Start(images, output, "operator", new Dictionary<string, string>
            {
                ["Crnp__Management__Port"] = management.ToString(System.Globalization.CultureInfo.InvariantCulture),
                ["Crnp__Operator__Kubeconfig"] = "/kube/" + Path.GetFileName(kubeconfig),
                ["Crnp__Operator__Namespace"] = "crnp",
                ["Crnp__Operator__Identity"] = "image-test",
                ["Crnp__Operator__RetryPeriod"] = "00:00:00.500",
            }, ["--volume", $"{dir.FullName}:/kube:ro"]);

            await container.WaitForHttpAsync(management, "/healthz");
            await container.WaitForAsync(() => (string?)kube.Get(ResourceKind.Leases, "crnp", "crnpcloud-operator")?["spec"]?["holderIdentity"] == "image-test",
                "the operator in its image holds the Lease");
            container.AssertRunsReadOnlyAsUid1654();
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>A detached podman container of one image; removed on dispose; its log goes into every failure.</summary>
    private sealed class Container : IAsyncDisposable
    {
        private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(2) };
        private readonly ImageFixture _images;
        private readonly ITestOutputHelper _output;
        private readonly string _name;

        private Container(ImageFixture images, ITestOutputHelper output, string name)
        {
            _images = images;
            _output = output;
            _name = name;
        }

        public static Container Start(ImageFixture images, ITestOutputHelper output, string image, IDictionary<string, string> environment, IEnumerable<string> options)
        {
            var name = $"crnp-image-test-{image}-{Guid.NewGuid().ToString("N")[..8]}";
            var args = new List<string>
            {
                "run", "--detach", "--name", name, "--read-only", "--read-only-tmpfs=false", "--tmpfs", "/tmp",
                "--user", "1654", "--network", "host", "--env", "Logging__LogLevel__Default=Information",
            };
            foreach (var (key, value) in environment)
            {
                args.AddRange(["--env", $"{key}={value}"]);
            }
            args.AddRange(options);
            args.Add(images.Image(image));
            var run = images.Podman([.. args]);
            var container = new Container(images, output, name);
            Assert.True(run.Code == 0, $"podman run {image} failed:\n{run.Errors}\n{container.Logs()}");
            return container;
        }

        public Task WaitForHttpAsync(int port, string path) =>
            WaitForAsync(async () =>
            {
                try
                {
                    using var response = await Http.GetAsync(new Uri($"http://127.0.0.1:{port}{path}"));
                    return response.StatusCode == HttpStatusCode.OK;
                }
                catch (HttpRequestException)
                {
                    return false;
                }
                catch (TaskCanceledException)
                {
                    return false;
                }
            }, $"{path} answers 200 on port {port}");

        public Task WaitForAsync(Func<bool> condition, string what) => WaitForAsync(() => Task.FromResult(condition()), what);

        private async Task WaitForAsync(Func<Task<bool>> condition, string what)
        {
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
            while (!await condition())
            {
                var state = _images.Podman("inspect", "--format", "{{.State.Status}}", _name).Output.Trim();
                if (state != "running")
                {
                    Assert.Fail($"the container is {state} before: {what}\n{Logs()}");
                }
                if (DateTime.UtcNow > deadline)
                {
                    Assert.Fail($"not seen in 60 s: {what}\n{Logs()}");
                }
                await Task.Delay(250);
            }
        }

        /// <summary>The service is the container's process 1, run by uid 1654 (no user namespace: the host uid), on a read-only root.</summary>
        public void AssertRunsReadOnlyAsUid1654()
        {
            var top = _images.Podman("top", _name, "huser", "user", "pid");
            Assert.True(top.Code == 0, top.Errors + Logs());
            var process = top.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Skip(1)
                .Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries)).Single(f => f[2] == "1");
            Assert.Equal("1654", process[0]);
            Assert.Equal("app", process[1]);
            Assert.Equal("true", _images.Podman("inspect", "--format", "{{.HostConfig.ReadonlyRootfs}}", _name).Output.Trim());
        }

        public string Logs()
        {
            var logs = _images.Podman("logs", "--tail", "60", _name);
            return $"podman logs {_name}:\n{logs.Output}{logs.Errors}";
        }

        public ValueTask DisposeAsync()
        {
            _output.WriteLine(Logs());
            _images.Podman("rm", "--force", "--time", "10", _name);
            return ValueTask.CompletedTask;
        }
    }
}
