using k8s.Models;

namespace CrnpCloud.Chart.Tests;

/// <summary>Who counts as LOCAL, what clients outside the cluster need, and where deliveries come from.</summary>
public sealed class ClientNetworkTests
{
    private static string Ci(string name) => Path.Combine(Helm.Chart, "ci", name);

    private static string LocalNetworks(List<object> objects) =>
        objects.OfType<V1ConfigMap>().Single(c => c.Metadata.Name == "crnpcloud-config").Data["Crnp__Edge__LocalNetworks"];

    [Fact]
    public void TheServiceCidr_AndLocalNetworks_GoIntoTheEdgesLocalNetworks()
    {
        Assert.Equal("", LocalNetworks(Helm.Render()));
        Assert.Equal("10.96.0.0/12", LocalNetworks(Helm.Render(null, "edge.serviceCIDR=10.96.0.0/12")));
        Assert.Equal("10.244.0.0/16", LocalNetworks(Helm.Render(null, "edge.localNetworks=10.244.0.0/16")));
        Assert.Equal("10.244.0.0/16\\,fd00::/64,10.96.0.0/12".Replace("\\", "", StringComparison.Ordinal),
            LocalNetworks(Helm.Render(null, "edge.localNetworks=10.244.0.0/16\\,fd00::/64", "edge.serviceCIDR=10.96.0.0/12")));

        var (code, _, errors) = Helm.Run("template", "crnpcloud", Helm.Chart, "--set", "edge.serviceCIDR=10.96.0.0");
        Assert.NotEqual(0, code);
        Assert.Contains("edge.serviceCIDR: Does not match pattern", errors, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("NodePort", "LOCAL", true)]
    [InlineData("LoadBalancer", "LOCAL", true)]
    [InlineData("LoadBalancer", "local", true)]
    [InlineData("LoadBalancer", "LOCAL 192.0.2.0/24", false)]
    [InlineData("NodePort", "ALL", false)]
    [InlineData("ClusterIP", "LOCAL", false)]
    public void AnExternalService_ThatOnlyLocalMayRegisterOn_IsWarnedAbout(string type, string allowHosts, bool warned)
    {
        var notes = Helm.Notes(null, $"edge.service.type={type}", $"edge.allowHosts={allowHosts}");
        Assert.Equal(warned, notes.Contains("WARNING: the edge Service is", StringComparison.Ordinal));
        if (type != "ClusterIP")
        {
            Assert.Contains("externalTrafficPolicy: Local keeps their source IPs", notes, StringComparison.Ordinal);
            Assert.Contains("add their CIDRs to edge.allowHosts", notes, StringComparison.Ordinal);
            Assert.Contains("Deliveries reach clients from the delivery pods", notes, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void TheAllowListInForce_IsTheCrnpServersWhenItSetsOne()
    {
        // ci/loadbalancer-values.yaml opens the edge to 10.0.0.0/8 in both places: no warning.
        Assert.DoesNotContain("WARNING", Helm.Notes(Ci("loadbalancer-values.yaml")), StringComparison.Ordinal);
        // The CrnpServer's list replaces edge.allowHosts in the live settings: LOCAL only there is LOCAL only.
        var notes = Helm.Notes(null, "edge.service.type=LoadBalancer", "edge.allowHosts=LOCAL\\,192.0.2.0/24", "operator.server.spec.allowHosts={LOCAL}");
        Assert.Contains("WARNING: the edge Service is LoadBalancer but only LOCAL may register", notes, StringComparison.Ordinal);
    }

    [Fact]
    public void DeliveryPodLabelsAndAnnotations_LandOnDeliveryPodsOnly_AndNeverInSelectors()
    {
        var objects = Helm.Render(Ci("loadbalancer-values.yaml"));
        var delivery = objects.OfType<V1Deployment>().Single(d => d.Metadata.Name == "crnpcloud-delivery");
        Assert.Equal("crnp-delivery", delivery.Spec.Template.Metadata.Labels["egress.example.com/gateway"]);
        Assert.Equal("egress-code == 'crnp'", delivery.Spec.Template.Metadata.Annotations["egress.projectcalico.org/selector"]);
        Assert.Contains("checksum/config", delivery.Spec.Template.Metadata.Annotations.Keys);
        // The chart's own labels win over a podLabels entry of the same name.
        Assert.Equal("delivery", delivery.Spec.Template.Metadata.Labels["app.kubernetes.io/component"]);

        IEnumerable<IDictionary<string, string>?> Selectors() =>
            objects.OfType<V1Deployment>().Select(d => d.Spec.Selector.MatchLabels)
                .Concat(objects.OfType<V1StatefulSet>().Select(s => s.Spec.Selector.MatchLabels))
                .Concat(objects.OfType<V1Service>().Select(s => s.Spec.Selector))
                .Concat(objects.OfType<V1NetworkPolicy>().Select(p => p.Spec.PodSelector.MatchLabels))
                .Concat(objects.OfType<V1PodDisruptionBudget>().Select(p => p.Spec.Selector.MatchLabels))
                .Concat(objects.OfType<V1Deployment>().SelectMany(d => d.Spec.Template.Spec.TopologySpreadConstraints ?? []).Select(t => t.LabelSelector.MatchLabels));
        Assert.All(Selectors(), s => Assert.DoesNotContain("egress.example.com/gateway", s?.Keys ?? []));

        foreach (var other in objects.OfType<V1Deployment>().Where(d => d.Metadata.Name != "crnpcloud-delivery").Select(d => d.Spec.Template.Metadata)
                     .Concat(objects.OfType<V1StatefulSet>().Select(s => s.Spec.Template.Metadata)))
        {
            Assert.DoesNotContain("egress.example.com/gateway", other.Labels.Keys);
            Assert.DoesNotContain("egress.projectcalico.org/selector", other.Annotations?.Keys ?? []);
        }
        // Nor on the Deployment object itself: a gateway selects pods.
        Assert.DoesNotContain("egress.example.com/gateway", delivery.Metadata.Labels.Keys);
    }

    [Theory]
    [InlineData("--set", "delivery.podLabels.bad key=x", "delivery.podLabels")]
    [InlineData("--set", "delivery.podLabels.ok=not a label value", "delivery.podLabels.ok: Does not match pattern")]
    [InlineData("--set-json", "delivery.podAnnotations={\"x\":1}", "delivery.podAnnotations.x: Invalid type")]
    public void TheSchema_ChecksDeliveryPodLabelsAndAnnotations(string flag, string value, string expected)
    {
        var (code, _, errors) = Helm.Run("template", "crnpcloud", Helm.Chart, flag, value);
        Assert.NotEqual(0, code);
        Assert.Contains(expected, errors, StringComparison.Ordinal);
    }
}
