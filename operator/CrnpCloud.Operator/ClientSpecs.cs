using System.Net;
using System.Net.Sockets;
using CrnpCloud.Core;
using CrnpCloud.Protocol;

namespace CrnpCloud.Operator;

/// <summary>Turns a CrnpClient spec into what the store registers, refusing what the CRD schema cannot express.</summary>
internal static class ClientSpecs
{
    public const string Always = "Always";
    public const string Never = "Never";

    public static bool TryTypes(CrnpClientSpec spec, out EquatableList<EventRegistration> types, out string error)
    {
        types = EquatableList<EventRegistration>.Empty;
        error = "";
        if (!SettingLimits.Within(spec.Port, SettingLimits.PortMin, SettingLimits.PortMax))
        {
            error = $"spec.port {spec.Port} is not between {SettingLimits.PortMin} and {SettingLimits.PortMax}";
            return false;
        }
        if (string.IsNullOrWhiteSpace(spec.Address) || spec.Address.Length > SettingLimits.ClientAddressMaxLength)
        {
            error = $"spec.address must be an IP address or a host name of at most {SettingLimits.ClientAddressMaxLength} characters";
            return false;
        }
        if (!SettingLimits.Within(spec.Events.Count, SettingLimits.ClientEventsMin, SettingLimits.ClientEventsMax))
        {
            error = $"spec.events must list between {SettingLimits.ClientEventsMin} and {SettingLimits.ClientEventsMax} event types";
            return false;
        }
        if (spec.ReRegister is not (null or Always or Never))
        {
            error = $"spec.reRegister '{spec.ReRegister}' must be Always or Never";
            return false;
        }
        if (spec.Retry?.Count is { } count && !ServerSettings.ValidRetryCount(count))
        {
            error = $"spec.retry.count must be between {SettingLimits.RetryCountMin} and {SettingLimits.RetryCountMax}";
            return false;
        }
        if (spec.Retry?.Interval is { } interval && !(Durations.TryParse(interval, out var parsed) && ServerSettings.ValidRetryInterval(parsed)))
        {
            error = $"spec.retry.interval '{interval}' is not a duration such as 30s or 1m30s (at most {SettingLimits.RetryIntervalMax})";
            return false;
        }

        var list = new List<EventRegistration>();
        for (var i = 0; i < spec.Events.Count; i++)
        {
            var e = spec.Events[i];
            if (string.IsNullOrWhiteSpace(e.Class))
            {
                error = $"spec.events[{i}].class is required";
                return false;
            }
            var pairs = new List<NameValue>();
            foreach (var (pair, j) in (e.Nvpairs ?? []).Select((p, j) => (p, j)))
            {
                if (string.IsNullOrWhiteSpace(pair.Name) || pair.Values.Count == 0)
                {
                    error = $"spec.events[{i}].nvpairs[{j}] needs a name and at least one value";
                    return false;
                }
                pairs.Add(new NameValue(pair.Name, new EquatableList<string>(pair.Values)));
            }
            list.Add(new EventRegistration(e.Class, string.IsNullOrEmpty(e.Subclass) ? null : e.Subclass, new EquatableList<NameValue>(pairs)));
        }
        types = new EquatableList<EventRegistration>(list.Distinct());
        return true;
    }

    /// <summary>The callback IP: the address itself, or the host name resolved now (IPv4 preferred).</summary>
    public static async Task<IPAddress?> ResolveAsync(string address, CancellationToken cancellationToken)
    {
        if (IPAddress.TryParse(address, out var ip))
        {
            return CallbackAddress.Normalize(ip);
        }
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(5));
        try
        {
            var addresses = await Dns.GetHostAddressesAsync(address, timeout.Token);
            return addresses.FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetwork) ?? addresses.FirstOrDefault();
        }
        catch (SocketException)
        {
            return null;
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return null;
        }
    }

    public static ClientRetry? Retry(CrnpClientSpec spec) =>
        spec.Retry is null ? null : new ClientRetry(
            spec.Retry.Count,
            Durations.TryParse(spec.Retry.Interval, out var interval) ? interval : null);
}
