using System.Text;
using k8s.Models;

namespace CrnpCloud.Chart.Tests;

/// <summary>
/// The environment a component's container gets from the rendered chart, resolved as the kubelet does:
/// <c>envFrom</c> ConfigMaps, then <c>env</c> entries (values, Secret keys from the rendered Secrets,
/// the pod's name and namespace from fieldRefs). Anything it cannot resolve is an error, so a test that
/// runs the images with this environment runs them exactly as configured by the chart.
/// </summary>
internal static class ChartEnvironment
{
    public static Dictionary<string, string> For(IReadOnlyList<object> rendered, string component, string podName, string podNamespace)
    {
        var deployment = rendered.OfType<V1Deployment>().SingleOrDefault(d => d.Spec.Template.Metadata.Labels.TryGetValue("app.kubernetes.io/component", out var c) && c == component)
            ?? throw new InvalidOperationException($"the chart renders no Deployment for component {component}");
        var container = deployment.Spec.Template.Spec.Containers[0];
        var env = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var source in container.EnvFrom ?? [])
        {
            var map = rendered.OfType<V1ConfigMap>().SingleOrDefault(m => m.Metadata.Name == source.ConfigMapRef?.Name)
                ?? throw new InvalidOperationException($"{component}: envFrom names ConfigMap {source.ConfigMapRef?.Name}, which the chart does not render");
            foreach (var (key, value) in map.Data ?? new Dictionary<string, string>())
            {
                env[key] = value;
            }
        }
        foreach (var variable in container.Env ?? [])
        {
            env[variable.Name] = variable switch
            {
                { ValueFrom.SecretKeyRef: { } key } => SecretValue(rendered, component, key),
                { ValueFrom.FieldRef.FieldPath: "metadata.name" } => podName,
                { ValueFrom.FieldRef.FieldPath: "metadata.namespace" } => podNamespace,
                { ValueFrom: null } => variable.Value ?? "",
                _ => throw new InvalidOperationException($"{component}: env {variable.Name} has a source this test cannot resolve"),
            };
        }
        return env;
    }

    private static string SecretValue(IReadOnlyList<object> rendered, string component, V1SecretKeySelector key)
    {
        var secret = rendered.OfType<V1Secret>().SingleOrDefault(s => s.Metadata.Name == key.Name)
            ?? throw new InvalidOperationException($"{component}: Secret {key.Name} is not rendered by the chart");
        if (secret.StringData?.TryGetValue(key.Key, out var text) == true)
        {
            return text;
        }
        return secret.Data?.TryGetValue(key.Key, out var bytes) == true
            ? Encoding.UTF8.GetString(bytes)
            : throw new InvalidOperationException($"{component}: Secret {key.Name} has no key {key.Key}");
    }
}
