using System.Text;
using k8s.Models;

namespace CrnpCloud.Chart.Tests;

/// <summary>
/// The gRPC API is authenticated by default: the chart's own Secret with a publish and an admin token
/// (charts/crnpcloud/templates/ingest-tokens.yaml), or the user's, referenced by the ingest and the operator.
/// </summary>
public sealed class IngestAuthTests
{
    private static V1Container Container(List<object> objects, string component) =>
        objects.OfType<V1Deployment>().Single(d => d.Metadata.Name == $"crnpcloud-{component}").Spec.Template.Spec.Containers.Single();

    private static (string Secret, string Key) SecretRef(V1Container container, string env)
    {
        var entry = (container.Env ?? []).SingleOrDefault(e => e.Name == env);
        Assert.True(entry is not null, $"{container.Name} has no {env}");
        Assert.Null(entry.Value);
        return (entry.ValueFrom.SecretKeyRef.Name, entry.ValueFrom.SecretKeyRef.Key);
    }

    [Fact]
    public void ByDefault_TheChartMakesTwoRandomTokens_AndTheIngestAndOperatorReadThem()
    {
        var objects = Helm.Render();
        var secret = Assert.Single(objects.OfType<V1Secret>());
        Assert.Equal("crnpcloud-ingest-tokens", secret.Metadata.Name);
        Assert.Equal(["admin", "publish"], secret.Data.Keys.Order());
        var publish = Encoding.ASCII.GetString(secret.Data["publish"]);
        var admin = Encoding.ASCII.GetString(secret.Data["admin"]);
        Assert.Matches("^[A-Za-z0-9]{40}$", publish);
        Assert.Matches("^[A-Za-z0-9]{40}$", admin);
        Assert.NotEqual(publish, admin);

        var ingest = Container(objects, "ingest");
        Assert.Equal(("crnpcloud-ingest-tokens", "publish"), SecretRef(ingest, "Crnp__Ingest__PublishTokens"));
        Assert.Equal(("crnpcloud-ingest-tokens", "admin"), SecretRef(ingest, "Crnp__Ingest__AdminTokens"));
        // The operator publishes membership events: the publish token, never the admin one.
        Assert.Equal(("crnpcloud-ingest-tokens", "publish"), SecretRef(Container(objects, "operator"), "Crnp__Operator__IngestToken"));
        Assert.DoesNotContain(Container(objects, "operator").Env, e => e.ValueFrom?.SecretKeyRef?.Key == "admin");
        // No token in any ConfigMap or plain env value.
        Assert.All(objects.OfType<V1ConfigMap>(), c => Assert.DoesNotContain(c.Data.Values, v => v.Contains(publish, StringComparison.Ordinal) || v.Contains(admin, StringComparison.Ordinal)));
    }

    [Fact]
    public void TemplateModeRendersFreshTokensEachTime_AndTheTemplateReusesAnExistingSecretThroughLookup()
    {
        // helm template cannot look anything up: each render makes a Secret with new random tokens.
        static string Token() => Encoding.ASCII.GetString(Helm.Render().OfType<V1Secret>().Single().Data["publish"]);
        Assert.NotEqual(Token(), Token());
        // On a cluster, install and upgrade look the Secret up and keep what it holds.
        var template = File.ReadAllText(Path.Combine(Helm.Chart, "templates", "ingest-tokens.yaml"));
        Assert.Contains("lookup \"v1\" \"Secret\" .Release.Namespace $name", template, StringComparison.Ordinal);
        Assert.Matches(@"publish: \{\{ index \$existing ""publish"" \| default \(randAlphaNum 40", template);
        Assert.Matches(@"admin: \{\{ index \$existing ""admin"" \| default \(randAlphaNum 40", template);
    }

    [Fact]
    public void AnExistingSecret_IsReferencedUnderItsOwnKeys_AndTheChartMakesNone()
    {
        var objects = Helm.Render(Path.Combine(Helm.Chart, "ci", "jaeger-values.yaml"));
        Assert.Empty(objects.OfType<V1Secret>());
        var ingest = Container(objects, "ingest");
        Assert.Equal(("my-ingest-tokens", "publish-tokens"), SecretRef(ingest, "Crnp__Ingest__PublishTokens"));
        Assert.Equal(("my-ingest-tokens", "admin-tokens"), SecretRef(ingest, "Crnp__Ingest__AdminTokens"));
        Assert.Equal(("my-ingest-tokens", "publish-tokens"), SecretRef(Container(objects, "operator"), "Crnp__Operator__IngestToken"));

        var defaultKeys = Helm.Render(null, "ingest.auth.existingSecret=vault-tokens");
        Assert.Empty(defaultKeys.OfType<V1Secret>());
        Assert.Equal(("vault-tokens", "publish"), SecretRef(Container(defaultKeys, "ingest"), "Crnp__Ingest__PublishTokens"));
        Assert.Equal(("vault-tokens", "admin"), SecretRef(Container(defaultKeys, "ingest"), "Crnp__Ingest__AdminTokens"));
    }

    [Fact]
    public void AuthenticationOff_TakesAnExplicitFalse_AndThenNoSecretAndNoTokenEnv()
    {
        var objects = Helm.Render(null, "ingest.auth.enabled=false");
        Assert.Empty(objects.OfType<V1Secret>());
        foreach (var d in objects.OfType<V1Deployment>())
        {
            Assert.DoesNotContain(d.Spec.Template.Spec.Containers.SelectMany(c => c.Env ?? []), e => e.Name.Contains("Token", StringComparison.Ordinal));
        }
        Assert.Contains("WARNING: ingest.auth.enabled=false", Helm.Notes(null, "ingest.auth.enabled=false"), StringComparison.Ordinal);

        // Leaving the value out is not turning it off: the schema requires it.
        var (code, _, errors) = Helm.Run("template", "crnpcloud", Helm.Chart, "--set", "ingest.auth=null");
        Assert.NotEqual(0, code);
        Assert.Contains("auth", errors, StringComparison.Ordinal);
        // The old value is gone (charts/README.md says what replaces it).
        (code, _, errors) = Helm.Run("template", "crnpcloud", Helm.Chart, "--set", "ingest.authTokensSecret=x");
        Assert.NotEqual(0, code);
        Assert.Contains("authTokensSecret", errors, StringComparison.Ordinal);
    }

    [Fact]
    public void TheNotes_PrintEachTokenAndHowCrnpctlUsesIt()
    {
        var notes = Helm.Notes();
        Assert.Contains("export CRNP_TOKEN=$(kubectl -n crnp-system get secret crnpcloud-ingest-tokens -o jsonpath='{.data.publish}' | base64 -d)", notes, StringComparison.Ordinal);
        Assert.Contains("export CRNP_TOKEN=$(kubectl -n crnp-system get secret crnpcloud-ingest-tokens -o jsonpath='{.data.admin}' | base64 -d)", notes, StringComparison.Ordinal);
        Assert.Contains("crnpctl publish --ingest localhost:9445", notes, StringComparison.Ordinal);
        Assert.Contains("crnpctl clients --ingest localhost:9445", notes, StringComparison.Ordinal);
        Assert.Contains("PERMISSION_DENIED", notes, StringComparison.Ordinal);

        var own = Helm.Notes(Path.Combine(Helm.Chart, "ci", "jaeger-values.yaml"));
        Assert.Contains("get secret my-ingest-tokens -o jsonpath='{.data.publish-tokens}'", own, StringComparison.Ordinal);
        Assert.Contains("get secret my-ingest-tokens -o jsonpath='{.data.admin-tokens}'", own, StringComparison.Ordinal);
    }
}
