using k8s;
using k8s.Models;
using Microsoft.Extensions.Logging;

namespace CrnpCloud.Operator;

/// <summary>Writes Kubernetes Events about the objects the operator manages (<c>kubectl describe</c> shows them).</summary>
internal sealed partial class EventRecorder(IKubernetes kube, string instance, TimeProvider time, ILogger<EventRecorder> logger)
{
    public const string Component = "crnpcloud-operator";

    public async Task WarningAsync(IKubernetesObject<V1ObjectMeta> about, string reason, string message, CancellationToken cancellationToken) =>
        await RecordAsync(about, "Warning", reason, message, cancellationToken);

    public async Task NormalAsync(IKubernetesObject<V1ObjectMeta> about, string reason, string message, CancellationToken cancellationToken) =>
        await RecordAsync(about, "Normal", reason, message, cancellationToken);

    private async Task RecordAsync(IKubernetesObject<V1ObjectMeta> about, string type, string reason, string message, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow().UtcDateTime;
        var ns = about.Metadata.NamespaceProperty ?? "default";
        var evt = new Corev1Event
        {
            Metadata = new V1ObjectMeta { GenerateName = about.Metadata.Name + ".", NamespaceProperty = ns },
            InvolvedObject = new V1ObjectReference
            {
                ApiVersion = about.ApiVersion,
                Kind = about.Kind,
                Name = about.Metadata.Name,
                NamespaceProperty = ns,
                Uid = about.Metadata.Uid,
                ResourceVersion = about.Metadata.ResourceVersion,
            },
            Type = type,
            Reason = reason,
            Message = message.Length > 1024 ? message[..1024] : message,
            Source = new V1EventSource { Component = Component },
            ReportingComponent = Component,
            ReportingInstance = instance,
            FirstTimestamp = now,
            LastTimestamp = now,
            Count = 1,
        };
        try
        {
            await kube.CoreV1.CreateNamespacedEventAsync(evt, ns, cancellationToken: cancellationToken);
        }
        catch (Exception ex) when (ex is k8s.Autorest.HttpOperationException or HttpRequestException)
        {
            // An event is a courtesy; the status condition carries the same facts.
            NotRecorded(logger, reason, about.Metadata.Name, ex.Message);
        }
    }

    [LoggerMessage(EventId = 1101, Level = LogLevel.Warning, Message = "could not record event {Reason} on {Name}: {Error}")]
    private static partial void NotRecorded(ILogger logger, string reason, string name, string error);
}
