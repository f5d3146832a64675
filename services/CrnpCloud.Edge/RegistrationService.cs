using System.Net;
using CrnpCloud.Core;
using CrnpCloud.Protocol;
using Microsoft.Extensions.Options;

namespace CrnpCloud.Edge;

/// <summary>Turns a parsed SC_CALLBACK_REG from a source address into a store change and a reply.</summary>
internal sealed class RegistrationService(IRegistrationStore store, HostAccessPolicy policy, IOptionsMonitor<EdgeOptions> options)
{
    public async Task<CrnpReply> ApplyAsync(IPAddress source, CallbackRegistration message, CancellationToken cancellationToken)
    {
        if (!policy.IsAllowed(source))
        {
            return new CrnpReply(StatusCode.Fail, $"host {CallbackAddress.Normalize(source)} is not allowed to register");
        }

        var current = options.CurrentValue;
        var change = new RegistrationChange(
            message.Type,
            new CallbackAddress(source, message.Port),
            message.Events,
            new RegistrationLimits(current.MaxClients, current.MaxTypesPerClient));
        var result = await store.ApplyAsync(change, cancellationToken);
        return new CrnpReply(result.Status, result.Message);
    }
}
