using System.Text.Json.Serialization;
using k8s;
using k8s.Models;

namespace CrnpCloud.Operator;

/// <summary>The API group, version and resource names the operator serves (the CRDs are in charts/crnpcloud/crds).</summary>
internal static class CrnpApi
{
    public const string Group = "crnp.cloud";
    public const string Version = "v1alpha1";
    public const string ApiVersion = Group + "/" + Version;
    public const string ClientPlural = "crnpclients";
    public const string ServerPlural = "crnpservers";
    public const string ClientKind = "CrnpClient";
    public const string ServerKind = "CrnpServer";

    /// <summary>Held on every CrnpClient until its registration is removed from the store.</summary>
    public const string Finalizer = "crnp.cloud/registration";
}

/// <summary>A declared CRNP registration.</summary>
public sealed class CrnpClient : IKubernetesObject<V1ObjectMeta>
{
    [JsonPropertyName("apiVersion")]
    public string ApiVersion { get; set; } = CrnpApi.ApiVersion;

    [JsonPropertyName("kind")]
    public string Kind { get; set; } = CrnpApi.ClientKind;

    [JsonPropertyName("metadata")]
    public V1ObjectMeta Metadata { get; set; } = new();

    [JsonPropertyName("spec")]
    public CrnpClientSpec Spec { get; set; } = new();

    [JsonPropertyName("status")]
    public CrnpClientStatus? Status { get; set; }
}

public sealed class CrnpClientSpec
{
    /// <summary>Callback IP address, or a host/Service name resolved at each reconcile.</summary>
    [JsonPropertyName("address")]
    public string Address { get; set; } = "";

    [JsonPropertyName("port")]
    public int Port { get; set; }

    [JsonPropertyName("events")]
    public List<EventTypeSpec> Events { get; set; } = [];

    [JsonPropertyName("retry")]
    public RetrySpec? Retry { get; set; }

    /// <summary><c>Always</c> or <c>Never</c>: whether a client the delivery pool removed is registered again.</summary>
    [JsonPropertyName("reRegister")]
    public string? ReRegister { get; set; }
}

public sealed class EventTypeSpec
{
    [JsonPropertyName("class")]
    public string Class { get; set; } = "";

    [JsonPropertyName("subclass")]
    public string? Subclass { get; set; }

    [JsonPropertyName("nvpairs")]
    public List<NvPairSpec>? Nvpairs { get; set; }
}

public sealed class NvPairSpec
{
    [JsonPropertyName("name")]
    public string Name { get; set; } = "";

    [JsonPropertyName("values")]
    public List<string> Values { get; set; } = [];
}

public sealed class RetrySpec
{
    [JsonPropertyName("count")]
    public int? Count { get; set; }

    [JsonPropertyName("interval")]
    public string? Interval { get; set; }
}

public sealed class CrnpClientStatus
{
    [JsonPropertyName("observedGeneration")]
    public long? ObservedGeneration { get; set; }

    /// <summary>The <c>ip:port</c> registered in the store (the client's identity).</summary>
    [JsonPropertyName("registeredAddress")]
    public string? RegisteredAddress { get; set; }

    [JsonPropertyName("backlog")]
    public long? Backlog { get; set; }

    [JsonPropertyName("lastDeliveryTime")]
    public DateTime? LastDeliveryTime { get; set; }

    /// <summary>The global sequence of the event last delivered to the client.</summary>
    [JsonPropertyName("lastDeliveredSequence")]
    public long? LastDeliveredSequence { get; set; }

    [JsonPropertyName("consecutiveFailures")]
    public int? ConsecutiveFailures { get; set; }

    [JsonPropertyName("lastFailure")]
    public string? LastFailure { get; set; }

    /// <summary>The delivery pool's latest removal of the client that this resource reported (the Event was written).</summary>
    [JsonPropertyName("lastRemoval")]
    public RemovalStatus? LastRemoval { get; set; }

    [JsonPropertyName("conditions")]
    public List<V1Condition>? Conditions { get; set; }
}

public sealed class RemovalStatus
{
    [JsonPropertyName("time")]
    public DateTime? Time { get; set; }

    [JsonPropertyName("reason")]
    public string? Reason { get; set; }
}

/// <summary>The server settings of one installation.</summary>
public sealed class CrnpServer : IKubernetesObject<V1ObjectMeta>
{
    [JsonPropertyName("apiVersion")]
    public string ApiVersion { get; set; } = CrnpApi.ApiVersion;

    [JsonPropertyName("kind")]
    public string Kind { get; set; } = CrnpApi.ServerKind;

    [JsonPropertyName("metadata")]
    public V1ObjectMeta Metadata { get; set; } = new();

    [JsonPropertyName("spec")]
    public CrnpServerSpec Spec { get; set; } = new();

    [JsonPropertyName("status")]
    public CrnpServerStatus? Status { get; set; }
}

public sealed class CrnpServerSpec
{
    [JsonPropertyName("retryCount")]
    public int? RetryCount { get; set; }

    [JsonPropertyName("retryInterval")]
    public string? RetryInterval { get; set; }

    [JsonPropertyName("clientTimeout")]
    public string? ClientTimeout { get; set; }

    [JsonPropertyName("maxClients")]
    public int? MaxClients { get; set; }

    [JsonPropertyName("allowHosts")]
    public List<string>? AllowHosts { get; set; }

    [JsonPropertyName("denyHosts")]
    public List<string>? DenyHosts { get; set; }

    [JsonPropertyName("vendorName")]
    public string? VendorName { get; set; }

    [JsonPropertyName("partitions")]
    public int? Partitions { get; set; }
}

public sealed class CrnpServerStatus
{
    [JsonPropertyName("observedGeneration")]
    public long? ObservedGeneration { get; set; }

    [JsonPropertyName("appliedTime")]
    public DateTime? AppliedTime { get; set; }

    [JsonPropertyName("conditions")]
    public List<V1Condition>? Conditions { get; set; }
}
