using System.Net;
using CrnpCloud.Core;
using StackExchange.Redis;

namespace CrnpCloud.Redis;

/// <summary>
/// Which node the Sentinels name the primary, and whether the data connection agrees. StackExchange.Redis
/// sends each command to any node it currently believes is a primary, and after a partition heals the
/// old primary believes it is one until the Sentinels demote it (up to ~10 s later): the failover test
/// saw a third, then all, of the commands go to it, reading stale queues (deliveries out of order) and
/// taking writes that the demotion then discards. So the store asks this first: unless the only
/// connected primary the connection sees is the one a majority of the answering Sentinels name, the
/// store is unavailable (RETRY / UNAVAILABLE, nothing applied) and the connection is told to re-read
/// every node's role. PROTOCOL.md section 12.
/// </summary>
public sealed class SentinelPrimary : IDisposable
{
    private static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(250);

    private readonly ConnectionMultiplexer _sentinels;
    private readonly IConnectionMultiplexer _data;
    private readonly string _service;
    private readonly Timer _timer;
    private volatile string? _primary;
    private int _asking;
    private int _reconfiguring;

    private SentinelPrimary(ConnectionMultiplexer sentinels, IConnectionMultiplexer data, string service)
    {
        _sentinels = sentinels;
        _data = data;
        _service = service;
        _timer = new Timer(_ => _ = AskAsync(), null, TimeSpan.Zero, Interval);
        _sentinels.GetSubscriber().Subscribe(RedisChannel.Literal("+switch-master"), (_, _) => _ = AskAsync(), CommandFlags.FireAndForget);
    }

    /// <summary>The primary the Sentinels name (<c>host:port</c>), or null while they name none or disagree.</summary>
    public string? Primary => _primary;

    /// <summary>Watches the Sentinels of a Sentinel connection text (as <see cref="RedisConnection.Connect"/> reads it) for <paramref name="data"/>.</summary>
    public static SentinelPrimary Watch(string connection, IConnectionMultiplexer data, string? password = null, string? sentinelPassword = null)
    {
        ArgumentNullException.ThrowIfNull(data);
        var options = RedisConnection.Configure(connection);
        var service = options.ServiceName ?? throw new ArgumentException("not a Sentinel connection (no serviceName)", nameof(connection));
        options.ServiceName = null;
        options.CommandMap = CommandMap.Sentinel;
        var pass = string.IsNullOrEmpty(sentinelPassword) ? password : sentinelPassword;
        if (!string.IsNullOrEmpty(pass))
        {
            options.Password = pass;
        }
        return new SentinelPrimary(ConnectionMultiplexer.SentinelConnect(options), data, service);
    }

    /// <summary>
    /// Throws <see cref="StoreUnavailableException"/> unless the Sentinels name a primary and it is the
    /// only connected primary of the data connection (then every command goes to it).
    /// </summary>
    public void Verify()
    {
        var primary = _primary;
        var seen = _data.GetServers().Where(s => s.IsConnected && !s.IsReplica).Select(s => Text(s.EndPoint)).ToList();
        if (primary is not null && seen.Count == 1 && string.Equals(seen[0], primary, StringComparison.OrdinalIgnoreCase))
        {
            return;
        }
        Reconfigure();
        throw new StoreUnavailableException(primary is null
            ? "the Sentinels name no primary (failover in progress?)"
            : $"the Sentinels name {primary} the primary, the connection sees {(seen.Count == 0 ? "none" : string.Join(", ", seen))}: waiting until they agree");
    }

    public void Dispose()
    {
        _timer.Dispose();
        _sentinels.Dispose();
    }

    // A majority of the configured Sentinels must name the same primary (a lone Sentinel may be the
    // partitioned, stale one); otherwise none is trusted.
    private async Task AskAsync()
    {
        if (Interlocked.Exchange(ref _asking, 1) == 1)
        {
            return;
        }
        try
        {
            var servers = _sentinels.GetServers();
            var answers = await Task.WhenAll(servers.Select(async s =>
            {
                try
                {
                    return s.IsConnected && await s.SentinelGetMasterAddressByNameAsync(_service) is { } endpoint ? Text(endpoint) : null;
                }
                catch (Exception ex) when (ex is RedisException or TimeoutException)
                {
                    return null;
                }
            }));
            var named = answers.OfType<string>().GroupBy(a => a, StringComparer.OrdinalIgnoreCase).OrderByDescending(g => g.Count()).FirstOrDefault();
            var primary = named is not null && named.Count() * 2 > servers.Length ? named.Key : null;
            if (primary is not null && !string.Equals(primary, _primary, StringComparison.OrdinalIgnoreCase))
            {
                Reconfigure();
            }
            _primary = primary;
        }
        finally
        {
            Volatile.Write(ref _asking, 0);
        }
    }

    // One role re-read at a time (a node that does not answer makes it last up to the connect timeout).
    private void Reconfigure()
    {
        if (Interlocked.Exchange(ref _reconfiguring, 1) == 1)
        {
            return;
        }
        _ = Task.Run(async () =>
        {
            try
            {
                await _data.ConfigureAsync();
            }
            catch (Exception ex) when (ex is RedisException or TimeoutException or ObjectDisposedException)
            {
                // Tried again on the next refusal.
            }
            finally
            {
                Volatile.Write(ref _reconfiguring, 0);
            }
        });
    }

    private static string Text(EndPoint endpoint) => endpoint switch
    {
        IPEndPoint ip => ip.ToString(),
        DnsEndPoint dns => $"{dns.Host}:{dns.Port}",
        _ => endpoint.ToString() ?? "",
    };
}
