using System.ComponentModel.DataAnnotations;
using CrnpCloud.Core;
using CrnpCloud.Protocol;
using CrnpCloud.ServiceDefaults;

namespace CrnpCloud.Ingest;

/// <summary>
/// Settings of the event ingest, section <c>Crnp:Ingest</c>. gRPC (HTTP/2 without TLS, for in-cluster
/// traffic) on <c>Port</c> (default 9445) and <c>ListenAddress</c>.
/// </summary>
public sealed class IngestOptions() : ListenEndpointOptions(9445)
{
    public const string Section = "Crnp:Ingest";

    /// <summary>VENDOR of events that do not name one (CRNP: SUNW, newer releases ORCL).</summary>
    [Required]
    [MinLength(1)]
    public string DefaultVendor { get; set; } = "SUNW";

    /// <summary>PUBLISHER of events that do not name one.</summary>
    [Required]
    [MinLength(1)]
    public string DefaultPublisher { get; set; } = "rgm";

    /// <summary>How long an idempotency key is remembered.</summary>
    [DurationRange("1s", "168h")]
    public TimeSpan IdempotencyWindow { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>Longest idempotency key, in characters.</summary>
    [Range(1, 4096)]
    public int MaxIdempotencyKeyLength { get; set; } = 256;

    /// <summary>Largest event, as the SC_EVENT document clients receive; beyond it RESOURCE_EXHAUSTED.</summary>
    [Range(256, 16 * 1024 * 1024)]
    public int MaxEventBytes { get; set; } = 64 * 1024;

    /// <summary>Largest gRPC message accepted at all; beyond it RESOURCE_EXHAUSTED before parsing.</summary>
    [Range(1024, 64 * 1024 * 1024)]
    public int MaxReceiveMessageBytes { get; set; } = 256 * 1024;

    /// <summary>
    /// Bearer tokens with full access, like <see cref="AdminTokens"/> (comma separated): the one list
    /// there was before tokens had roles, kept so existing installs work unchanged.
    /// </summary>
    public string AuthTokens { get; set; } = "";

    /// <summary>Bearer tokens that may publish (crnp.v1.EventIngest) and nothing else (comma separated).</summary>
    public string PublishTokens { get; set; } = "";

    /// <summary>Bearer tokens that may call every RPC, crnp.v1.Admin included (comma separated).</summary>
    public string AdminTokens { get; set; } = "";

    /// <summary>Limits on names, values and counts in one event (the same limits CRNP documents have).</summary>
    [Required]
    public CrnpLimits Limits { get; set; } = CrnpLimits.Default;
}
