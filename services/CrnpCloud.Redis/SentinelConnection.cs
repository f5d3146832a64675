using System.Net;
using CrnpCloud.Core;
using StackExchange.Redis;

namespace CrnpCloud.Redis;

/// <summary>
/// The store's connection through Sentinel: a connection to exactly one node, the primary a majority of
/// the Sentinels name, replaced by a connection to the next one when they name another (asked every
/// 250 ms and at once on <c>+switch-master</c>). StackExchange.Redis's own Sentinel support keeps every
/// node it has seen and spreads commands over every node that says it is a primary: after a partition
/// healed, the old primary (a primary in its own eyes until the Sentinels demote it, up to ~10 s later)
/// got a third, then all, of the commands in the failover test, serving stale queues (deliveries out of
/// order) and taking writes its demotion discarded. Here a node the Sentinels no longer name is never
/// reached again. PROTOCOL.md section 12.
/// </summary>
public sealed class SentinelConnection : IDisposable
{
    private static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(250);

    private readonly ConnectionMultiplexer _sentinels;
    private readonly ConfigurationOptions _data;
    private readonly string _service;
    private readonly SemaphoreSlim _switching = new(1, 1);
    private readonly Timer _timer;
    private volatile Connected? _current;
    private volatile string? _named;
    private int _asking;
    private int _askAgain;
    private int _switches;
    private volatile string? _demoted;
    private int _reconfiguring;
    private int _disposed;

    private SentinelConnection(ConnectionMultiplexer sentinels, ConfigurationOptions data, string service)
    {
        _sentinels = sentinels;
        _data = data;
        _service = service;
        _sentinels.GetSubscriber().Subscribe(RedisChannel.Literal("+switch-master"), (_, message) => OnSwitchMaster(message), CommandFlags.FireAndForget);
        _timer = new Timer(_ => _ = AskAsync(), null, Interval, Interval);
    }

    /// <summary>A new connection to the primary (the old one is closed, its subscriptions with it): subscribe again here.</summary>
    public event Action<IConnectionMultiplexer>? Switched;

    /// <summary>The connection to the primary the Sentinels name, or null until they have named one.</summary>
    public IConnectionMultiplexer? Current => _current?.Multiplexer;

    /// <summary>The primary a majority of the Sentinels named last (<c>host:port</c>), or null.</summary>
    public string? Primary => _named;

    /// <summary>Whether this connection was disposed (then nothing it hands out works again).</summary>
    public bool IsDisposed => Volatile.Read(ref _disposed) == 1;

    /// <summary>
    /// Connects as <c>Crnp:Store:Redis</c> (a Sentinel configuration string or URL), <c>Password</c>
    /// (the data nodes', and the Sentinels' unless <paramref name="sentinelPassword"/> is given) say.
    /// Waits up to the connect timeout for the Sentinels to name a primary; if they do not, the store is
    /// unavailable until they do.
    /// </summary>
    public static SentinelConnection Connect(string connection, string? password = null, string? sentinelPassword = null)
    {
        var options = RedisConnection.Configure(connection);
        var service = options.ServiceName ?? throw new ArgumentException("not a Sentinel connection (no serviceName)", nameof(connection));
        if (!string.IsNullOrEmpty(password))
        {
            options.Password = password;
        }
        var sentinels = options.Clone();
        sentinels.ServiceName = null;
        sentinels.CommandMap = CommandMap.Sentinel;
        sentinels.Password = string.IsNullOrEmpty(sentinelPassword) ? options.Password : sentinelPassword;
        var data = options.Clone();
        data.ServiceName = null;
        data.EndPoints.Clear();
        var result = new SentinelConnection(ConnectionMultiplexer.SentinelConnect(sentinels), data, service);
        result.AskAsync().Wait(TimeSpan.FromMilliseconds(options.ConnectTimeout));
        return result;
    }

    /// <summary>
    /// The connection to use now; throws <see cref="StoreUnavailableException"/> unless it is connected to
    /// the node the Sentinels name and that node says it is a primary.
    /// </summary>
    public IConnectionMultiplexer Verify()
    {
        var current = _current;
        var named = _named;
        if (current is null || named is null)
        {
            throw new StoreUnavailableException("the Sentinels name no primary yet (failover in progress?)");
        }
        if (!string.Equals(current.Primary, named, StringComparison.OrdinalIgnoreCase))
        {
            throw new StoreUnavailableException($"switching to {named}, the primary the Sentinels name now");
        }
        var server = current.Multiplexer.GetServers()[0];
        if (!server.IsConnected || server.IsReplica)
        {
            if (server.IsConnected)
            {
                Reconfigure(current.Multiplexer);
            }
            throw new StoreUnavailableException($"the primary the Sentinels name ({named}) is {(server.IsConnected ? "a replica as far as this connection knows" : "not connected")}");
        }
        return current.Multiplexer;
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }
        _timer.Dispose();
        _sentinels.Dispose();
        _current?.Multiplexer.Dispose();
    }

    // "+switch-master <name> <old-ip> <old-port> <new-ip> <new-port>": the primary of our service
    // changed. The old one is not trusted from this moment (Verify refuses until the Sentinels have
    // been asked again), and not even when a majority still names it (the other Sentinels learn of the
    // switch from the one that made it up to a couple of seconds later): nothing more is sent to a
    // node that may come back from a partition still calling itself primary.
    private void OnSwitchMaster(RedisValue message)
    {
        var parts = ((string?)message)?.Split(' ') ?? [];
        if (parts.Length >= 5 && parts[0] == _service)
        {
            _demoted = $"{parts[1]}:{parts[2]}";
            Interlocked.Increment(ref _switches);
            _named = null;
        }
        _ = AskAsync();
    }

    // A majority of the configured Sentinels must name the same primary (a lone Sentinel may be the
    // partitioned, stale one); otherwise none is trusted and the store waits. A request that arrives
    // while the Sentinels are being asked is not dropped: they are asked again right after (an answer
    // read just before a switch would otherwise stand until the next timer tick).
    private async Task AskAsync()
    {
        if (Volatile.Read(ref _disposed) == 1)
        {
            return;
        }
        if (Interlocked.Exchange(ref _asking, 1) == 1)
        {
            Volatile.Write(ref _askAgain, 1);
            return;
        }
        try
        {
            var switches = Volatile.Read(ref _switches);
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
            if (primary is not null && string.Equals(primary, _demoted, StringComparison.OrdinalIgnoreCase))
            {
                // The majority has not heard of the announced switch yet: no primary until it has.
                primary = null;
            }
            if (switches != Volatile.Read(ref _switches))
            {
                // A switch was announced while asking: these answers may predate it; ask again.
                Volatile.Write(ref _askAgain, 1);
            }
            else
            {
                _named = primary;
                if (primary is not null && !string.Equals(_current?.Primary, primary, StringComparison.OrdinalIgnoreCase))
                {
                    await SwitchAsync(primary, named!.First());
                }
            }
        }
        catch (Exception ex) when (ex is RedisException or ObjectDisposedException)
        {
            // Asked again in a moment.
        }
        finally
        {
            Volatile.Write(ref _asking, 0);
        }
        if (Interlocked.Exchange(ref _askAgain, 0) == 1)
        {
            await AskAsync();
        }
    }

    private async Task SwitchAsync(string primary, string address)
    {
        await _switching.WaitAsync();
        try
        {
            if (string.Equals(_current?.Primary, primary, StringComparison.OrdinalIgnoreCase) || Volatile.Read(ref _disposed) == 1)
            {
                return;
            }
            var options = _data.Clone();
            options.EndPoints.Add(address[..address.LastIndexOf(':')].Trim('[', ']'), int.Parse(address[(address.LastIndexOf(':') + 1)..], System.Globalization.CultureInfo.InvariantCulture));
            var multiplexer = await ConnectionMultiplexer.ConnectAsync(options);
            var old = _current;
            _current = new Connected(primary, multiplexer);
            Switched?.Invoke(multiplexer);
            if (old is not null)
            {
                // Whatever is still in flight to the old primary fails (unavailable): not to be trusted.
                await old.Multiplexer.CloseAsync(allowCommandsToComplete: false);
                old.Multiplexer.Dispose();
            }
        }
        finally
        {
            _switching.Release();
        }
    }

    // One role re-read at a time (a node that became a primary a moment ago may still be a replica here).
    private void Reconfigure(IConnectionMultiplexer multiplexer)
    {
        if (Interlocked.Exchange(ref _reconfiguring, 1) == 1)
        {
            return;
        }
        _ = Task.Run(async () =>
        {
            try
            {
                await multiplexer.ConfigureAsync();
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

    private sealed record Connected(string Primary, ConnectionMultiplexer Multiplexer);
}
