using System.ComponentModel.DataAnnotations;
using CrnpCloud.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Primitives;

namespace CrnpCloud.ServiceDefaults;

/// <summary>Section <c>Crnp:Settings</c>: how often a service reads the live server settings from the store.</summary>
internal sealed class LiveSettingsOptions
{
    public const string Section = "Crnp:Settings";

    /// <summary>How often the stored settings are read; a change applies within this time.</summary>
    [DurationRange("50ms", "1h")]
    public TimeSpan RefreshInterval { get; set; } = TimeSpan.FromSeconds(5);
}

/// <summary>
/// The server settings last read from the store. Options classes that depend on them
/// (<see cref="LiveSettingsExtensions.AddLiveSettings{TOptions}"/>) are recomputed when they change,
/// so <c>IOptionsMonitor.CurrentValue</c> carries them without a restart.
/// </summary>
internal sealed class LiveSettings
{
    private ServerSettings _current = ServerSettings.None;
    private string _json = ServerSettings.None.ToJson();
    private CancellationTokenSource _changed = new();
    private readonly Lock _lock = new();

    public ServerSettings Current => Volatile.Read(ref _current);

    public IChangeToken GetChangeToken()
    {
        lock (_lock)
        {
            return new CancellationChangeToken(_changed.Token);
        }
    }

    /// <summary>Takes new settings; true (and listeners told) when they differ from the current ones.</summary>
    public bool Update(ServerSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        var json = settings.ToJson();
        CancellationTokenSource fire;
        lock (_lock)
        {
            if (json == _json)
            {
                return false;
            }
            _json = json;
            Volatile.Write(ref _current, settings);
            fire = _changed;
            _changed = new CancellationTokenSource();
        }
        fire.Cancel();
        fire.Dispose();
        return true;
    }
}

/// <summary>Reads the stored settings every <see cref="LiveSettingsOptions.RefreshInterval"/> into <see cref="LiveSettings"/>.</summary>
internal sealed partial class LiveSettingsWatcher(
    ISettingsStore store,
    LiveSettings live,
    IOptions<LiveSettingsOptions> options,
    TimeProvider time,
    ILogger<LiveSettingsWatcher> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Value.RefreshInterval, time);
        do
        {
            try
            {
                var settings = await store.GetSettingsAsync(stoppingToken);
                if (live.Update(settings))
                {
                    Applied(logger, settings.Source.Length > 0 ? settings.Source : "(none)", settings.ClusterNetworks.Count);
                }
            }
            catch (StoreUnavailableException ex)
            {
                Unreachable(logger, ex.Message);
            }
            catch (System.Text.Json.JsonException ex)
            {
                Corrupt(logger, ex.Message);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false));
    }

    [LoggerMessage(EventId = 900, Level = LogLevel.Information, Message = "server settings applied from {Source}, with {Networks} cluster network(s)")]
    private static partial void Applied(ILogger logger, string source, int networks);

    [LoggerMessage(EventId = 901, Level = LogLevel.Debug, Message = "server settings not refreshed, store unreachable: {Reason}")]
    private static partial void Unreachable(ILogger logger, string reason);

    [LoggerMessage(EventId = 902, Level = LogLevel.Error, Message = "stored server settings cannot be read, keeping the current ones: {Reason}")]
    private static partial void Corrupt(ILogger logger, string reason);
}

public static class LiveSettingsExtensions
{
    /// <summary>
    /// Makes <typeparamref name="TOptions"/> follow the live server settings: <paramref name="apply"/>
    /// runs over the configured values each time the settings change. It must apply only values
    /// valid for the options (the operator validates them first; a bad one must not stop the service).
    /// </summary>
    public static IServiceCollection AddLiveSettings<TOptions>(this IServiceCollection services, Action<TOptions, ServerSettings> apply)
        where TOptions : class
    {
        ArgumentNullException.ThrowIfNull(services);
        if (!services.Any(d => d.ServiceType == typeof(LiveSettings)))
        {
            services.AddCrnpOptions<LiveSettingsOptions>(LiveSettingsOptions.Section);
            services.AddSingleton<LiveSettings>();
            services.TryAddSingleton(TimeProvider.System);
            services.AddHostedService<LiveSettingsWatcher>();
        }
        services.AddSingleton<IPostConfigureOptions<TOptions>>(sp =>
            new PostConfigureOptions<TOptions, LiveSettings>(Options.DefaultName, sp.GetRequiredService<LiveSettings>(), (o, live) => apply(o, live.Current)));
        services.AddSingleton<IOptionsChangeTokenSource<TOptions>>(sp => new LiveSettingsChangeTokenSource<TOptions>(sp.GetRequiredService<LiveSettings>()));
        return services;
    }

    private sealed class LiveSettingsChangeTokenSource<TOptions>(LiveSettings live) : IOptionsChangeTokenSource<TOptions>
    {
        public string Name => Options.DefaultName;

        public IChangeToken GetChangeToken() => live.GetChangeToken();
    }
}
