using System.Net;
using CrnpCloud.Core;
using CrnpCloud.Testing;
using Microsoft.AspNetCore.Builder;

namespace CrnpCloud.Edge.Tests;

/// <summary>A real edge (Kestrel, real sockets) on a free port, dual-stack, with a store chosen by the test.</summary>
internal sealed class EdgeHost : IAsyncDisposable
{
    private readonly ServiceHost _host;

    private EdgeHost(ServiceHost host) => _host = host;

    public LogSink Logs => _host.Logs;

    public IServiceProvider Services => _host.Services;

    public IPEndPoint Endpoint => new(IPAddress.Loopback, _host.Port);

    public IPEndPoint EndpointV6 => new(IPAddress.IPv6Loopback, _host.Port);

    /// <param name="configure">runs after the edge is added, e.g. to replace one of its services</param>
    public static async Task<EdgeHost> StartAsync(ICrnpStore store, IDictionary<string, string?>? settings = null, Action<WebApplicationBuilder>? configure = null)
    {
        var config = new Dictionary<string, string?>
        {
            ["Crnp:Edge:Port"] = "0",
            ["Crnp:Edge:ListenAddress"] = "::",
            ["Crnp:Edge:ClientTimeout"] = "00:00:10",
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            config[key] = value;
        }
        return new EdgeHost(await ServiceHost.StartAsync(store, b =>
        {
            b.AddCrnpEdge();
            configure?.Invoke(b);
        }, settings: config));
    }

    public Task StopAsync() => _host.StopAsync();

    public ValueTask DisposeAsync() => _host.DisposeAsync();
}
