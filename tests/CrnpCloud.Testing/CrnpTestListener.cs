using System.Buffers;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using CrnpCloud.Core;
using CrnpCloud.Protocol;

namespace CrnpCloud.Testing;

/// <summary>
/// The client side of CRNP delivery, as a legacy client does it: listen, accept, read one SC_EVENT
/// to EOF per connection, keep every event in the order the connections were accepted. Other kinds
/// misbehave on purpose: <see cref="BlackHole"/> accepts and never reads, <see cref="Silent"/>
/// never accepts at all (connects to it time out), <see cref="Concurrent"/> reads every connection
/// at once and keeps events in the order their documents completed.
/// </summary>
public sealed class CrnpTestListener : IAsyncDisposable
{
    private readonly Socket _listener;
    private readonly CancellationTokenSource _stop = new();
    private readonly ConcurrentDictionary<Socket, Task> _reading = new();
    private readonly Mode _mode;
    private Socket? _filler;
    private Task _accepting = Task.CompletedTask;
    private int _malformed;
    private int _accepted;

    private CrnpTestListener(IPAddress address, Mode mode, int? receiveBuffer = null, int backlog = 1024, int port = 0)
    {
        _mode = mode;
        _listener = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        if (receiveBuffer is { } size)
        {
            // Before listen, so accepted sockets inherit it (and advertise a window that small).
            _listener.ReceiveBufferSize = size;
        }
        _listener.Bind(new IPEndPoint(address, port));
        _listener.Listen(backlog);
        Address = new CallbackAddress(address, ((IPEndPoint)_listener.LocalEndPoint!).Port);
    }

    private enum Mode
    {
        Sequential,
        Concurrent,
        ReadNothing,
    }

    public CallbackAddress Address { get; }

    public ConcurrentQueue<(CrnpEvent Event, long At)> Received { get; } = new();

    /// <summary>
    /// What is kept of each event received (all of it unless set). A benchmark that keeps every receipt
    /// of a long run keeps only what its ledger reads: its own garbage collections, which copy every
    /// surviving receipt, otherwise pause the receivers for tens of milliseconds every few seconds and
    /// show up as delivery latency.
    /// </summary>
    public Func<CrnpEvent, CrnpEvent> Keep { get; set; } = e => e;

    public int Malformed => _malformed;

    /// <summary>Connections accepted so far (the one that fills a silent listener's queue excluded).</summary>
    public int Accepted => Volatile.Read(ref _accepted);

    /// <summary>Accepted connections still being read (nothing or part of a document so far).</summary>
    public int Open => _reading.Count;

    public static CrnpTestListener Start(IPAddress? address = null) => Started(new(address ?? IPAddress.Loopback, Mode.Sequential));

    /// <summary>A <see cref="Start"/> client on a given address, e.g. one that was <see cref="Refusing"/> until now.</summary>
    public static CrnpTestListener StartOn(CallbackAddress address) => Started(new(address.Ip, Mode.Sequential, port: address.Port));

    /// <summary>
    /// A client that reads every connection at once, as a multi-threaded client may: events are kept
    /// in the order their documents completed, so a stale delivery that completes after a newer one
    /// shows up as out of order.
    /// </summary>
    public static CrnpTestListener Concurrent(IPAddress? address = null) => Started(new(address ?? IPAddress.Loopback, Mode.Concurrent));

    /// <summary>
    /// A client that accepts connections and never reads from them, with its receive buffer shrunk to
    /// the kernel's minimum (about 2 KiB). On loopback the sender's buffer grows to about 4 MiB, so
    /// only a document larger than that really blocks its writer; smaller ones are "delivered" at once.
    /// </summary>
    public static CrnpTestListener BlackHole(IPAddress? address = null) => Started(new(address ?? IPAddress.Loopback, Mode.ReadNothing, receiveBuffer: 1));

    /// <summary>
    /// A client that never answers: a socket listening with a backlog of 0, whose one queue place
    /// (Linux allows backlog + 1 pending connections) is taken by a connection that is never accepted,
    /// so the kernel drops every further SYN, as with a dead host or a dropping firewall. A connect to it
    /// times out (unlike <see cref="Refusing"/>, which answers RST at once). <see cref="Answer"/> starts
    /// serving it as a <see cref="Concurrent"/> client.
    /// </summary>
    public static CrnpTestListener Silent(IPAddress? address = null)
    {
        var listener = new CrnpTestListener(address ?? IPAddress.Loopback, Mode.Concurrent, backlog: 0);
        listener._filler = new Socket(listener.Address.Ip.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        listener._filler.Connect(listener.Address.ToEndPoint());
        return listener;
    }

    // Ports handed out by Refusing stay bound (never listening) for the life of the test process, so
    // no two refusing addresses are the same and no other test's listener can take one over.
    private static readonly ConcurrentBag<Socket> RefusingPorts = [];

    /// <summary>
    /// An address on which nothing listens: connections are refused (RST). The port stays reserved by
    /// a bound, non-listening socket, so every call returns a different address.
    /// </summary>
    public static CallbackAddress Refusing()
    {
        var reserved = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        reserved.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        RefusingPorts.Add(reserved);
        return new CallbackAddress(IPAddress.Loopback, ((IPEndPoint)reserved.LocalEndPoint!).Port);
    }

    /// <summary>Whether a connect to <paramref name="address"/> is still pending after <paramref name="wait"/> (true: silent; refused or accepted: false).</summary>
    public static async Task<bool> ConnectTimesOutAsync(CallbackAddress address, TimeSpan wait)
    {
        using var probe = new Socket(address.Ip.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        using var timeout = new CancellationTokenSource(wait);
        try
        {
            await probe.ConnectAsync(address.ToEndPoint(), timeout.Token);
            return false;
        }
        catch (OperationCanceledException)
        {
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    /// <summary>A silent listener starts accepting: the connections the kernel let through since (SYN retransmissions) are read.</summary>
    public void Answer()
    {
        if (_filler is null || _accepting != Task.CompletedTask)
        {
            throw new InvalidOperationException("only a silent listener starts answering, once");
        }
        _accepting = Task.Run(AcceptLoopAsync);
    }

    public IReadOnlyList<CrnpEvent> Events => [.. Received.Select(r => r.Event)];

    public Task WaitForAsync(int count, TimeSpan? timeout = null) =>
        Eventually.TrueAsync(() => Task.FromResult(Received.Count >= count), $"{Address} received {count} events (has {Received.Count})", timeout ?? TimeSpan.FromSeconds(60));

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Dispose();
        try
        {
            await _accepting;
        }
        catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException or SocketException)
        {
            // Stopped.
        }
        await Task.WhenAll(_reading.Values);
        _filler?.Dispose();
        _stop.Dispose();
    }

    private static CrnpTestListener Started(CrnpTestListener listener)
    {
        listener._accepting = Task.Run(listener.AcceptLoopAsync);
        return listener;
    }

    private async Task AcceptLoopAsync()
    {
        var held = new List<Socket>();
        while (!_stop.IsCancellationRequested)
        {
            Socket socket;
            try
            {
                socket = await _listener.AcceptAsync(_stop.Token);
            }
            catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                break;
            }

            if (_filler is not null && socket.RemoteEndPoint!.Equals(_filler.LocalEndPoint))
            {
                socket.Dispose(); // the connection that kept a silent listener's queue full
                continue;
            }
            Interlocked.Increment(ref _accepted);
            switch (_mode)
            {
                case Mode.ReadNothing:
                    held.Add(socket);
                    break;
                case Mode.Concurrent:
                    _reading[socket] = Task.Run(async () =>
                    {
                        await ReadOneAsync(socket);
                        _reading.TryRemove(socket, out _);
                    });
                    break;
                default:
                    // One connection at a time, in accept order, as a single-threaded legacy client: the
                    // order received is the order the server connected in.
                    _reading[socket] = Task.CompletedTask;
                    await ReadOneAsync(socket);
                    _reading.TryRemove(socket, out _);
                    break;
            }
        }
        foreach (var socket in held)
        {
            socket.Dispose();
        }
    }

    private async Task ReadOneAsync(Socket socket)
    {
        using (socket)
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
            timeout.CancelAfter(TimeSpan.FromSeconds(30));
            try
            {
                var bytes = await CrnpTestClient.ReadToEndAsync(socket, timeout.Token);
                var parsed = CrnpParser.ParseEvent(new ReadOnlySequence<byte>(bytes));
                if (parsed.IsSuccess)
                {
                    var at = Stopwatch.GetTimestamp();
                    Received.Enqueue((Keep(parsed.Value), at));
                }
                else
                {
                    Interlocked.Increment(ref _malformed);
                }
            }
            catch (Exception ex) when (ex is OperationCanceledException or SocketException)
            {
                Interlocked.Increment(ref _malformed);
            }
        }
    }
}
