using System.Collections.Concurrent;
using System.Net;
using CrnpCloud.Core;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace CrnpCloud.Edge.Tests;

/// <summary>A real edge (Kestrel, real sockets) on a free port, with a store chosen by the test.</summary>
internal sealed class EdgeHost : IAsyncDisposable
{
    private readonly WebApplication _app;

    private EdgeHost(WebApplication app, int port, LogSink logs)
    {
        _app = app;
        Port = port;
        Logs = logs;
    }

    public int Port { get; }

    public LogSink Logs { get; }

    public IPEndPoint Endpoint => new(IPAddress.Loopback, Port);

    public IPEndPoint EndpointV6 => new(IPAddress.IPv6Loopback, Port);

    public IServiceProvider Services => _app.Services;

    public static async Task<EdgeHost> StartAsync(ICrnpStore store, IDictionary<string, string?>? settings = null)
    {
        var builder = WebApplication.CreateSlimBuilder();
        var config = new Dictionary<string, string?>
        {
            ["Crnp:Edge:Port"] = "0",
            ["Crnp:Edge:ListenAddress"] = "::",
            ["Crnp:Edge:ClientTimeout"] = "00:00:10",
            ["Logging:LogLevel:Default"] = "Debug",
            ["Logging:LogLevel:Microsoft.AspNetCore"] = "Debug",
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            config[key] = value;
        }
        builder.Configuration.AddInMemoryCollection(config);
        var logs = new LogSink();
        builder.Logging.ClearProviders().AddProvider(logs).SetMinimumLevel(LogLevel.Debug);
        builder.Services.AddSingleton(store);
        builder.AddCrnpEdge();
        var app = builder.Build();
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        return new EdgeHost(app, new Uri(address).Port, logs);
    }

    public Task StopAsync() => _app.StopAsync();

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}

/// <summary>Keeps every log entry so tests can assert nothing unexpected was logged.</summary>
internal sealed class LogSink : ILoggerProvider
{
    public ConcurrentQueue<(LogLevel Level, string Category, string Message, Exception? Exception)> Entries { get; } = new();

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public void Dispose()
    {
    }

    public IEnumerable<string> Errors() =>
        Entries.Where(e => e.Level >= LogLevel.Error).Select(e => $"{e.Category}: {e.Message} {e.Exception}");

    private sealed class Logger(LogSink sink, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            sink.Entries.Enqueue((logLevel, category, formatter(state, exception), exception));
    }
}
