using CrnpCloud.Core;
using CrnpCloud.Redis;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace CrnpCloud.Testing;

/// <summary>A service without endpoints (a delivery worker) on the generic host in the test process.</summary>
public sealed class WorkerHost : IAsyncDisposable
{
    private readonly IHost _host;

    private WorkerHost(IHost host, LogSink logs)
    {
        _host = host;
        Logs = logs;
    }

    public LogSink Logs { get; }

    public IServiceProvider Services => _host.Services;

    public static async Task<WorkerHost> StartAsync(ICrnpStore store, Action<HostApplicationBuilder> add, IDictionary<string, string?>? settings = null, TimeProvider? time = null)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Configuration.AddInMemoryCollection(settings ?? new Dictionary<string, string?>());
        var logs = new LogSink();
        builder.Logging.ClearProviders().AddProvider(logs).SetMinimumLevel(LogLevel.Debug);
        builder.Services.AddCrnpStore(store);
        if (time is not null)
        {
            builder.Services.AddSingleton(time);
        }
        add(builder);
        var host = builder.Build();
        await host.StartAsync();
        return new WorkerHost(host, logs);
    }

    public Task StopAsync() => _host.StopAsync();

    public async ValueTask DisposeAsync()
    {
        await _host.StopAsync();
        _host.Dispose();
    }
}
