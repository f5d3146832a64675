using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using CrnpCloud.Client;
using CrnpCloud.Core;
using CrnpCloud.Protocol;

namespace CrnpCloud.Testing;

/// <summary>
/// The client side of CRNP delivery, as a legacy client does it (<see cref="CrnpEventListener"/>, each
/// event read until the server closes): listen, accept, read one SC_EVENT per connection, keep every
/// event in the order the connections were accepted. Other kinds misbehave on purpose:
/// <see cref="BlackHole"/> accepts and never reads, <see cref="Silent"/> never accepts at all (connects
/// to it time out), <see cref="Concurrent"/> reads every connection at once and keeps events in the
/// order their documents completed.
/// </summary>
public sealed class CrnpTestListener : IAsyncDisposable
{
    private readonly CrnpEventListener _listener;
    private readonly bool _readNothing;
    private readonly List<Socket> _held = [];
    private Socket? _filler;
    private int _malformed;
    private int _accepted;
    private int _answering;

    private CrnpTestListener(IPAddress address, bool concurrent = false, bool readNothing = false, int? receiveBuffer = null, int backlog = 1024, int port = 0)
    {
        _readNothing = readNothing;
        _listener = new CrnpEventListener(new IPEndPoint(address, port), new CrnpListenerOptions
        {
            Concurrent = concurrent,
            Backlog = backlog,
            // Accepted sockets inherit it (and advertise a window that small).
            ReceiveBufferSize = receiveBuffer,
            Read = CrnpRead.PeerClose,
        });
        Address = new CallbackAddress(address, _listener.LocalEndPoint.Port);
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
    public int Open => _listener.Reading;

    public static CrnpTestListener Start(IPAddress? address = null) => Started(new(address ?? IPAddress.Loopback));

    /// <summary>A <see cref="Start"/> client on a given address, e.g. one that was <see cref="Refusing"/> until now.</summary>
    public static CrnpTestListener StartOn(CallbackAddress address) => Started(new(address.Ip, port: address.Port));

    /// <summary>
    /// A client that reads every connection at once, as a multi-threaded client may: events are kept
    /// in the order their documents completed, so a stale delivery that completes after a newer one
    /// shows up as out of order.
    /// </summary>
    public static CrnpTestListener Concurrent(IPAddress? address = null) => Started(new(address ?? IPAddress.Loopback, concurrent: true));

    /// <summary>
    /// A client that accepts connections and never reads from them, with its receive buffer shrunk to
    /// the kernel's minimum (about 2 KiB). On loopback the sender's buffer grows to about 4 MiB, so
    /// only a document larger than that really blocks its writer; smaller ones are "delivered" at once.
    /// </summary>
    public static CrnpTestListener BlackHole(IPAddress? address = null) => Started(new(address ?? IPAddress.Loopback, readNothing: true, receiveBuffer: 1));

    /// <summary>
    /// A client that never answers: a socket listening with a backlog of 0, whose one queue place
    /// (Linux allows backlog + 1 pending connections) is taken by a connection that is never accepted,
    /// so the kernel drops every further SYN, as with a dead host or a dropping firewall. A connect to it
    /// times out (unlike <see cref="Refusing"/>, which answers RST at once). <see cref="Answer"/> starts
    /// serving it as a <see cref="Concurrent"/> client.
    /// </summary>
    public static CrnpTestListener Silent(IPAddress? address = null)
    {
        var listener = new CrnpTestListener(address ?? IPAddress.Loopback, concurrent: true, backlog: 0);
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
        if (_filler is null || Interlocked.Exchange(ref _answering, 1) == 1)
        {
            throw new InvalidOperationException("only a silent listener starts answering, once");
        }
        Accept();
    }

    public IReadOnlyList<CrnpEvent> Events => [.. Received.Select(r => r.Event)];

    public Task WaitForAsync(int count, TimeSpan? timeout = null) =>
        Eventually.TrueAsync(() => Task.FromResult(Received.Count >= count), $"{Address} received {count} events (has {Received.Count})", timeout ?? TimeSpan.FromSeconds(60));

    public async ValueTask DisposeAsync()
    {
        await _listener.DisposeAsync();
        foreach (var socket in _held)
        {
            socket.Dispose();
        }
        _filler?.Dispose();
    }

    private static CrnpTestListener Started(CrnpTestListener listener)
    {
        listener.Accept();
        return listener;
    }

    private void Accept() => _listener.Start(delivery =>
    {
        if (delivery.Event is { } evt)
        {
            Received.Enqueue((Keep(evt), delivery.At));
        }
        else
        {
            Interlocked.Increment(ref _malformed);
        }
        return ValueTask.CompletedTask;
    }, Admit);

    /// <summary>Whether the listener reads this connection: not the one that filled a silent listener's queue, none of a black hole's.</summary>
    private bool Admit(Socket connection)
    {
        if (_filler is not null && connection.RemoteEndPoint!.Equals(_filler.LocalEndPoint))
        {
            connection.Dispose();
            return false;
        }
        Interlocked.Increment(ref _accepted);
        if (_readNothing)
        {
            _held.Add(connection); // only the accept loop adds; disposed once it has stopped
            return false;
        }
        return true;
    }
}
