using CrnpCloud.Core;
using CrnpCloud.Ingest.V1;
using CrnpCloud.Testing;
using Grpc.Net.Client;

namespace CrnpCloud.Ingest.Tests;

/// <summary>A real ingest (Kestrel, HTTP/2) on a free port and a gRPC channel to it.</summary>
internal sealed class IngestHost : IAsyncDisposable
{
    private readonly ServiceHost _host;

    private IngestHost(ServiceHost host)
    {
        _host = host;
        Channel = GrpcChannel.ForAddress($"http://127.0.0.1:{host.Port}");
        Client = new EventIngest.EventIngestClient(Channel);
    }

    public GrpcChannel Channel { get; }

    public EventIngest.EventIngestClient Client { get; }

    public LogSink Logs => _host.Logs;

    public IServiceProvider Services => _host.Services;

    public static async Task<IngestHost> StartAsync(ICrnpStore store, IDictionary<string, string?>? settings = null)
    {
        var config = new Dictionary<string, string?> { ["Crnp:Ingest:Port"] = "0", ["Crnp:Ingest:ListenAddress"] = "127.0.0.1" };
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            config[key] = value;
        }
        return new IngestHost(await ServiceHost.StartAsync(store, b => b.AddCrnpIngest(), a => a.MapCrnpIngest(), config));
    }

    public async ValueTask DisposeAsync()
    {
        Channel.Dispose();
        await _host.DisposeAsync();
    }
}

internal static class Events
{
    public static PublishRequest Membership(params int[] incarnations) => new()
    {
        Event = new Event
        {
            Class = "EC_Cluster",
            Subclass = "ESC_cluster_membership",
            Nvpairs =
            {
                Pair("node_list", [.. incarnations.Select((_, i) => $"node{i + 1}")]),
                Pair("state_list", [.. incarnations.Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture))]),
            },
        },
    };

    public static PublishRequest Rg(string name, string state) => new()
    {
        Event = new Event
        {
            Class = "EC_Cluster",
            Subclass = "ESC_cluster_rg_state",
            Nvpairs = { Pair("rg_name", name), Pair("node_list", "node1"), Pair("state_list", state) },
        },
    };

    public static NameValue Pair(string name, params string[] values)
    {
        var pair = new NameValue { Name = name };
        pair.Values.Add(values);
        return pair;
    }
}
