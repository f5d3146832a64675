using System.ComponentModel.DataAnnotations;
using CrnpCloud.Core;
using CrnpCloud.Protocol;
using CrnpCloud.ServiceDefaults;

namespace CrnpCloud.Edge;

/// <summary>
/// Settings of the registration server (PROTOCOL.md section 7), section <c>Crnp:Edge</c>. CRNP
/// registrations (TCP/XML) arrive on <c>Port</c> (default 9444) and <c>ListenAddress</c>.
/// </summary>
internal sealed class EdgeOptions() : ListenEndpointOptions(9444)
{
    public const string Section = "Crnp:Edge";

    /// <summary>Who may register: CIDRs, single addresses, <c>LOCAL</c> or <c>ALL</c>, separated by commas or spaces.</summary>
    public string AllowHosts { get; set; } = "LOCAL";

    /// <summary>Who may not register, same syntax; a host in both lists is refused.</summary>
    public string DenyHosts { get; set; } = "";

    /// <summary>
    /// CIDRs that also count as <c>LOCAL</c>, besides this host's interfaces and the cluster networks
    /// the operator publishes: in Kubernetes, networks the Nodes do not show (a Service CIDR, a
    /// network outside the cluster that should count as local).
    /// </summary>
    public string LocalNetworks { get; set; } = "";

    /// <summary>
    /// The cluster networks from the live settings (<see cref="Core.ServerSettings.ClusterNetworks"/>),
    /// part of <c>LOCAL</c>. Not a setting: internal, so configuration never binds it.
    /// </summary>
    internal IReadOnlyList<string> ClusterNetworks { get; set; } = [];

    /// <summary>Most registered clients; a new client beyond it gets LOW_RESOURCE.</summary>
    [Range(SettingLimits.MaxClientsMin, SettingLimits.MaxClientsMax)]
    public int MaxClients { get; set; } = 1000;

    /// <summary>Most event types one client may register; beyond it LOW_RESOURCE.</summary>
    [Range(1, 100_000)]
    public int MaxTypesPerClient { get; set; } = 256;

    /// <summary>Time allowed to receive a whole registration, and to apply and answer it (client_timeout).</summary>
    [DurationRange(SettingLimits.ClientTimeoutMin, SettingLimits.ClientTimeoutMax)]
    public TimeSpan ClientTimeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// Time allowed between two bytes of a registration, the first one included; a connection silent
    /// for that long is closed without a reply. <see cref="ClientTimeout"/> still bounds the whole exchange
    /// (a longer IdleTimeout than it has no effect).
    /// </summary>
    [DurationRange("10ms", "1h")]
    public TimeSpan IdleTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Most registration connections open at once; beyond it a connection is answered LOW_RESOURCE and closed.</summary>
    [Range(1, 10_000_000)]
    public int MaxConcurrentConnections { get; set; } = 10_000;

    /// <summary>
    /// Most registration connections open at once from one source address; beyond it a connection is
    /// answered LOW_RESOURCE and closed, so one host cannot take the places of all the others.
    /// </summary>
    [Range(1, 10_000_000)]
    public int MaxConnectionsPerAddress { get; set; } = 100;

    /// <summary>Limits on one registration document.</summary>
    [Required]
    public CrnpLimits Limits { get; set; } = CrnpLimits.Default;
}
