using System.Net;
using CrnpCloud.Core;
using Microsoft.Extensions.Options;

namespace CrnpCloud.ServiceDefaults;

/// <summary>
/// Where a service endpoint listens: <c>Port</c> and <c>ListenAddress</c> of its settings section
/// (<c>Crnp:Edge</c>, <c>Crnp:Ingest</c>, <c>Crnp:Management</c>). The options of each endpoint derive
/// from it, so the keys stay in their own section; <see cref="ListenEndpointValidator{TOptions}"/>
/// checks them, once for all (<see cref="ServiceDefaultsExtensions.AddListener{TOptions}"/> registers it).
/// </summary>
public abstract class ListenEndpointOptions
{
    protected ListenEndpointOptions(int defaultPort) => Port = defaultPort;

    /// <summary>TCP port, <see cref="SettingLimits.ListenPortMin"/> (0: any free port, for tests) to <see cref="SettingLimits.PortMax"/>.</summary>
    public int Port { get; set; }

    /// <summary>IP address to listen on; <c>::</c> (the default) listens dual-stack on every interface, <c>0.0.0.0</c> where IPv6 is off.</summary>
    public string ListenAddress { get; set; } = "::";
}

/// <summary>The one check of a <see cref="ListenEndpointOptions"/>; a failure stops the service at start, naming the setting.</summary>
public sealed class ListenEndpointValidator<TOptions>(string section) : IValidateOptions<TOptions>
    where TOptions : ListenEndpointOptions
{
    public ValidateOptionsResult Validate(string? name, TOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var failures = new List<string>();
        if (!SettingLimits.Within(options.Port, SettingLimits.ListenPortMin, SettingLimits.PortMax))
        {
            failures.Add($"{section}:Port {options.Port} is not between {SettingLimits.ListenPortMin} (any free port) and {SettingLimits.PortMax}");
        }
        if (!IPAddress.TryParse(options.ListenAddress, out _))
        {
            failures.Add($"{section}:ListenAddress '{options.ListenAddress}' is not an IP address (:: listens on every interface)");
        }
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
