using System.Net;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace CrnpCloud.ServiceDefaults;

/// <summary>
/// The named endpoints a service listens on. Kestrel writes the bound address (the real port when 0
/// was asked for) back into each <see cref="ListenOptions"/>, so once started every name resolves.
/// </summary>
public sealed class Listeners
{
    private readonly List<(string Name, string Description, ListenOptions Options)> _endpoints = [];
    private readonly Lock _lock = new();

    public void Add(string name, string description, ListenOptions options)
    {
        lock (_lock)
        {
            _endpoints.Add((name, description, options));
        }
    }

    /// <summary>Every endpoint with the address it is bound to (meaningful after start).</summary>
    public IReadOnlyList<(string Name, string Description, EndPoint EndPoint)> Bound()
    {
        lock (_lock)
        {
            return [.. _endpoints.Select(e => (e.Name, e.Description, e.Options.EndPoint))];
        }
    }

    /// <summary>The bound port of one endpoint.</summary>
    public int PortOf(string name) =>
        Bound().Where(e => e.Name == name).Select(e => e.EndPoint).OfType<IPEndPoint>().Select(e => e.Port).FirstOrDefault();

    public static IPAddress ParseAddress(string address) => IPAddress.TryParse(address, out var parsed) ? parsed : IPAddress.IPv6Any;
}
