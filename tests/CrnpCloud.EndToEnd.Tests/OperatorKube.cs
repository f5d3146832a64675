using CrnpCloud.FakeKube;

namespace CrnpCloud.EndToEnd.Tests;

/// <summary>
/// The Kubernetes side of the operator process tests: the fake API server serving the CrnpClient,
/// CrnpServer and ConfigMap kinds, and a kubeconfig for it in a temp dir, deleted with it. The
/// CrnpCloud side is <c>SystemOptions.Operator(redis, Kubeconfig)</c>.
/// </summary>
internal sealed class OperatorKube : IAsyncDisposable
{
    public static readonly ResourceKind Clients = new("crnp.cloud", "v1alpha1", "crnpclients", "CrnpClient", Namespaced: true);
    public static readonly ResourceKind Servers = new("crnp.cloud", "v1alpha1", "crnpservers", "CrnpServer", Namespaced: true);
    public static readonly ResourceKind ConfigMaps = new("", "v1", "configmaps", "ConfigMap", Namespaced: true, HasStatus: false);

    private readonly string _directory;

    private OperatorKube(FakeKubeApiServer api, string directory)
    {
        Api = api;
        _directory = directory;
        Kubeconfig = api.WriteKubeconfig(directory);
    }

    public FakeKubeApiServer Api { get; }

    /// <summary>The path of a kubeconfig for <see cref="Api"/>.</summary>
    public string Kubeconfig { get; }

    public static async Task<OperatorKube> StartAsync() =>
        new(await FakeKubeApiServer.StartAsync(Clients, Servers, ConfigMaps), Directory.CreateTempSubdirectory("crnp-e2e-kube-").FullName);

    public async ValueTask DisposeAsync()
    {
        await Api.DisposeAsync();
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
            // A leftover temp dir is harmless.
        }
    }
}
