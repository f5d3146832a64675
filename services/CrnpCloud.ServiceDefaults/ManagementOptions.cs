using System.ComponentModel.DataAnnotations;

namespace CrnpCloud.ServiceDefaults;

/// <summary>The HTTP endpoint for probes and the Prometheus scrape, section <c>Crnp:Management</c>.</summary>
public sealed class ManagementOptions
{
    public const string Section = "Crnp:Management";

    /// <summary>HTTP/1.1 port of <c>/healthz</c>, <c>/readyz</c> and <c>/metrics</c>; 0 picks a free port.</summary>
    [Range(0, 65535)]
    public int Port { get; set; } = 9464;

    [Required]
    public string ListenAddress { get; set; } = "::";
}
