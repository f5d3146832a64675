namespace CrnpCloud.ServiceDefaults;

/// <summary>
/// The HTTP endpoint for probes and the Prometheus scrape, section <c>Crnp:Management</c>: HTTP/1.1
/// <c>/healthz</c>, <c>/readyz</c> and <c>/metrics</c> on <c>Port</c> (default 9464) and <c>ListenAddress</c>.
/// </summary>
internal sealed class ManagementOptions() : ListenEndpointOptions(9464)
{
    public const string Section = "Crnp:Management";
}
