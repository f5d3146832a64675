using CrnpCloud.Core;
using Microsoft.Extensions.Options;

namespace CrnpCloud.Edge;

/// <summary>
/// Host list syntax, which the attributes cannot express (the listen endpoint has its own check,
/// <see cref="ServiceDefaults.ListenEndpointValidator{TOptions}"/>); a failure stops the service at start.
/// </summary>
internal sealed class EdgeOptionsValidator : IValidateOptions<EdgeOptions>
{
    public ValidateOptionsResult Validate(string? name, EdgeOptions options)
    {
        var failures = new List<string>();
        Check(nameof(options.AllowHosts), options.AllowHosts, failures);
        Check(nameof(options.DenyHosts), options.DenyHosts, failures);
        Check(nameof(options.LocalNetworks), options.LocalNetworks, failures, keywordsAllowed: false);
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    private static void Check(string setting, string value, List<string> failures, bool keywordsAllowed = true) =>
        failures.AddRange(HostList.InvalidEntries(value, keywordsAllowed).Select(entry =>
            $"{EdgeOptions.Section}:{setting} entry '{entry}' is not a CIDR or IP address{(keywordsAllowed ? ", LOCAL or ALL" : "")}"));
}
