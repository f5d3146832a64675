namespace CrnpCloud.Operator;

/// <summary>Where a permission must be granted: cluster-wide, or in the operator's own namespace.</summary>
public enum PermissionScope
{
    Cluster,
    OwnNamespace,
}

/// <summary>One RBAC rule: an API group, a resource (with subresource, e.g. <c>crnpclients/status</c>) and verbs.</summary>
public sealed record Permission(PermissionScope Scope, string Group, string Resource, params string[] Verbs);

/// <summary>
/// Every Kubernetes API call the operator makes, as RBAC rules. The chart's ClusterRole and Role grant
/// exactly these (a chart test checks), and the operator tests check that every request the operator
/// sends to the fake API server is covered.
/// </summary>
internal static class OperatorPermissions
{
    public static IReadOnlyList<Permission> Required { get; } =
    [
        new(PermissionScope.Cluster, CrnpApi.Group, CrnpApi.ClientPlural, "list", "watch", "update"),
        new(PermissionScope.Cluster, CrnpApi.Group, CrnpApi.ClientPlural + "/status", "update"),
        new(PermissionScope.Cluster, "", "nodes", "list", "watch"),
        new(PermissionScope.Cluster, "apps", "deployments", "list", "watch"),
        new(PermissionScope.Cluster, "apps", "statefulsets", "list", "watch"),
        new(PermissionScope.Cluster, "", "pods", "list", "watch"),
        new(PermissionScope.Cluster, "", "events", "create"),
        new(PermissionScope.OwnNamespace, CrnpApi.Group, CrnpApi.ServerPlural, "list", "watch"),
        new(PermissionScope.OwnNamespace, CrnpApi.Group, CrnpApi.ServerPlural + "/status", "update"),
        new(PermissionScope.OwnNamespace, "coordination.k8s.io", "leases", "get", "create", "update"),
        new(PermissionScope.OwnNamespace, "", "configmaps", "get", "create", "update"),
    ];

    /// <summary>Whether a request is allowed by <see cref="Required"/>.</summary>
    public static bool Allows(string verb, string group, string resource, string? subresource) =>
        Required.Any(p => p.Group == group
            && p.Resource == (subresource is null ? resource : $"{resource}/{subresource}")
            && p.Verbs.Contains(verb));
}
