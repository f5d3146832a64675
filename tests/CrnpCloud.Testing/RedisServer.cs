using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Xunit;

namespace CrnpCloud.Testing;

/// <summary>
/// A real redis-server for one test class: a free port, its own temp dir, AOF with fsync on every
/// write so a restart keeps everything acknowledged. Stop/Start keep port and data (a restart).
/// </summary>
public sealed class RedisServer : IAsyncDisposable
{
    /// <summary>The chart's <c>redis.aofRewriteMinSize</c> (ChartTests holds them equal), so benchmarks rewrite the append-only file as a deployment does.</summary>
    public const string AofRewriteMinSize = "256mb";

    private Process? _process;

    private readonly string _appendFsync;

    private RedisServer(int port, string directory, string appendFsync)
    {
        Port = port;
        Directory = directory;
        _appendFsync = appendFsync;
    }

    public int Port { get; }

    public string Directory { get; }

    public string ConnectionString => $"127.0.0.1:{Port}";

    /// <summary>The redis-server process id while it runs (benchmarks read its CPU and memory).</summary>
    public int Pid => _process?.Id ?? throw new InvalidOperationException("redis-server is not running");

    /// <param name="appendFsync">AOF fsync policy: <c>always</c> (tests: an acknowledged write is on disk) or <c>everysec</c> (the chart's)</param>
    public static async Task<RedisServer> StartAsync(string appendFsync = "always")
    {
        for (var attempt = 1; ; attempt++)
        {
            var directory = Path.Combine(Path.GetTempPath(), "crnp-redis-" + Guid.NewGuid().ToString("N"));
            System.IO.Directory.CreateDirectory(directory);
            var server = new RedisServer(FreePort(), directory, appendFsync);
            try
            {
                await server.StartAsync(CancellationToken.None);
                return server;
            }
            catch (ServerExitedException) when (attempt < StartAttempts)
            {
                // Its port was taken between FreePort and the bind: again, on another.
                await server.DisposeAsync();
            }
        }
    }

    /// <summary>How many times a new server (or cluster) is started on fresh ports when one exits before answering.</summary>
    internal const int StartAttempts = 3;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        string[] args =
        [
            "--port", Port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--bind", "127.0.0.1",
            "--dir", Directory, "--appendonly", "yes", "--appendfsync", _appendFsync, "--save", "", "--auto-aof-rewrite-min-size", AofRewriteMinSize,
            "--daemonize", "no", "--protected-mode", "no", "--loglevel", "warning",
        ];
        var output = new System.Collections.Concurrent.ConcurrentQueue<string>();
        _process = Tool.Start("redis-server", output, args);
        await Tool.UntilAnsweringAsync(_process, output, $"redis-server on port {Port}", PingAsync);
    }

    /// <summary>Stops the server the way an operator would (SIGTERM: it flushes the AOF and exits).</summary>
    public async Task StopAsync()
    {
        if (_process is null)
        {
            return;
        }
        if (!_process.HasExited)
        {
            Signal("TERM");
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
            await _process.WaitForExitAsync(timeout.Token);
        }
        _process.Dispose();
        _process = null;
    }

    /// <summary>kill -9: no chance to flush anything beyond what fsync already wrote.</summary>
    public async Task KillAsync()
    {
        if (_process is { HasExited: false })
        {
            _process.Kill();
            await _process.WaitForExitAsync();
        }
        _process?.Dispose();
        _process = null;
    }

    public async Task RestartAsync()
    {
        await StopAsync();
        await StartAsync(CancellationToken.None);
    }

    public async ValueTask DisposeAsync()
    {
        await KillAsync();
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
            // A leftover temp dir is harmless.
        }
    }

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private void Signal(string signal)
    {
        using var kill = Process.Start("kill", ["-" + signal, _process!.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        kill.WaitForExit();
    }

    private async Task<bool> PingAsync()
    {
        try
        {
            using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
            await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, Port), timeout.Token);
            await socket.SendAsync("PING\r\n"u8.ToArray(), SocketFlags.None, timeout.Token);
            var buffer = new byte[64];
            var n = await socket.ReceiveAsync(buffer, SocketFlags.None, timeout.Token);
            return Encoding.ASCII.GetString(buffer, 0, n).StartsWith("+PONG", StringComparison.Ordinal);
        }
        catch (Exception ex) when (ex is SocketException or OperationCanceledException)
        {
            return false;
        }
    }
}

/// <summary>
/// One redis-server and one shared connection for the tests of a class; each test uses its own key
/// prefix (<see cref="RedisStores.Create"/>).
/// </summary>
public sealed class RedisServerFixture : IAsyncLifetime
{
    public RedisServer Server { get; private set; } = null!;

    public StackExchange.Redis.IConnectionMultiplexer Connection { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Server = await RedisServer.StartAsync();
        Connection = await RedisStores.ConnectAsync(Server);
    }

    public async Task DisposeAsync()
    {
        await Connection.DisposeAsync();
        await Server.DisposeAsync();
    }
}
