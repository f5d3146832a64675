using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace CrnpCloud.FakeKube;

/// <summary>
/// The fake server as a pod sees the real one: HTTPS with a certificate from the cluster's CA, and a
/// service account directory (<c>token</c>, <c>ca.crt</c>, <c>namespace</c>) for a process that uses the
/// in-cluster configuration (<c>KUBERNETES_SERVICE_HOST</c>/<c>_PORT</c> plus that directory mounted at
/// <c>/var/run/secrets/kubernetes.io/serviceaccount</c>), as the chart's operator pod does.
/// </summary>
public sealed partial class FakeKubeApiServer
{
    private readonly HashSet<string> _credentials = [];

    /// <summary>Authorization headers seen so far (e.g. <c>Bearer TOKEN</c>); empty ones are not kept.</summary>
    public IReadOnlyCollection<string> Credentials
    {
        get
        {
            lock (_lock)
            {
                return [.. _credentials];
            }
        }
    }

    /// <summary>
    /// Starts the server on HTTPS (a new CA and a server certificate for 127.0.0.1) and writes the
    /// service account files into <paramref name="serviceAccountDirectory"/>: <c>token</c> = <paramref name="token"/>,
    /// <c>ca.crt</c>, <c>namespace</c> = <paramref name="podNamespace"/>.
    /// </summary>
    public static async Task<FakeKubeApiServer> StartInClusterAsync(string serviceAccountDirectory, string token, string podNamespace, params ResourceKind[] kinds)
    {
        var (ca, serverCertificate) = Certificates();
        Directory.CreateDirectory(serviceAccountDirectory);
        await File.WriteAllTextAsync(Path.Combine(serviceAccountDirectory, "ca.crt"), ca.ExportCertificatePem());
        await File.WriteAllTextAsync(Path.Combine(serviceAccountDirectory, "token"), token);
        await File.WriteAllTextAsync(Path.Combine(serviceAccountDirectory, "namespace"), podNamespace);
        return await StartAsync(serverCertificate, kinds);
    }

    private void RecordCredential(string authorization)
    {
        if (authorization.Length == 0)
        {
            return;
        }
        lock (_lock)
        {
            _credentials.Add(authorization);
        }
    }

    private static (X509Certificate2 Ca, X509Certificate2 Server) Certificates()
    {
        using var caKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var caRequest = new CertificateRequest("CN=fake-kube-ca", caKey, HashAlgorithmName.SHA256);
        caRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        caRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        var now = DateTimeOffset.UtcNow;
        var ca = caRequest.CreateSelfSigned(now.AddMinutes(-5), now.AddDays(1));

        using var serverKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=kubernetes", serverKey, HashAlgorithmName.SHA256);
        var names = new SubjectAlternativeNameBuilder();
        names.AddIpAddress(IPAddress.Loopback);
        names.AddDnsName("localhost");
        names.AddDnsName("kubernetes.default.svc");
        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        var serial = RandomNumberGenerator.GetBytes(16);
        serial[0] &= 0x7f;
        using var issued = request.Create(ca, now.AddMinutes(-5), now.AddDays(1), serial);
        var server = issued.CopyWithPrivateKey(serverKey);
        // Kestrel on Linux needs the key in an exportable, reloadable form.
        return (ca, X509CertificateLoader.LoadPkcs12(server.Export(X509ContentType.Pkcs12), null));
    }
}
