using System.Security.Cryptography.X509Certificates;
using CrnpCloud.FakeKube;
using k8s;

namespace CrnpCloud.Operator.Tests;

/// <summary>
/// The fake server as a pod reaches the real one (HTTPS, the cluster CA, a service account token): the
/// container tests start the operator image on this path, exactly as the chart's operator pod runs.
/// </summary>
public sealed class InClusterTests
{
    [Fact]
    public async Task ServiceAccountFiles_LetTheRealClientTrustTheServer_AndSendTheToken()
    {
        var dir = Directory.CreateTempSubdirectory("crnp-sa-").FullName;
        await using var kube = await FakeKubeApiServer.StartInClusterAsync(dir, "sa-token-1", "crnp-system");
        Assert.Equal("https", kube.Address.Scheme);
        Assert.Equal("crnp-system", await File.ReadAllTextAsync(Path.Combine(dir, "namespace")));

        // What KubernetesClientConfiguration.InClusterConfig() builds from the mounted files.
        var config = new KubernetesClientConfiguration
        {
            Host = kube.Address.ToString(),
            AccessToken = await File.ReadAllTextAsync(Path.Combine(dir, "token")),
            SslCaCerts = Pem(Path.Combine(dir, "ca.crt")),
        };
        using var client = new Kubernetes(config);
        var nodes = await client.CoreV1.ListNodeAsync();
        Assert.Empty(nodes.Items);
        Assert.Contains("Bearer sa-token-1", kube.Credentials);

        // Another CA is refused: the client really checks the server against ca.crt.
        var other = Directory.CreateTempSubdirectory("crnp-sa-").FullName;
        await using var stranger = await FakeKubeApiServer.StartInClusterAsync(other, "t", "x");
        using var mismatched = new Kubernetes(new KubernetesClientConfiguration
        {
            Host = kube.Address.ToString(),
            AccessToken = "sa-token-1",
            SslCaCerts = Pem(Path.Combine(other, "ca.crt")),
        });
        await Assert.ThrowsAsync<HttpRequestException>(() => mismatched.CoreV1.ListNodeAsync());
        Directory.Delete(dir, recursive: true);
        Directory.Delete(other, recursive: true);
    }

    private static X509Certificate2Collection Pem(string path)
    {
        var certificates = new X509Certificate2Collection();
        certificates.ImportFromPemFile(path);
        return certificates;
    }
}
