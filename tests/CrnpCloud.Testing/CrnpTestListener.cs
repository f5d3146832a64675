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
/// to EOF per connection, keep every event in the order the connections were accepted.
/// </summary>
public sealed class CrnpTestListener : IAsyncDisposable
{
    private readonly TcpListener _listener;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _accepting;
    private readonly bool _readNothing;

    private CrnpTestListener(IPAddress address, bool readNothing)
    {
        _readNothing = readNothing;
        _listener = new TcpListener(address, 0);
        _listener.Start(1024);
        Address = new CallbackAddress(address, ((IPEndPoint)_listener.LocalEndpoint).Port);
        _accepting = Task.Run(AcceptLoopAsync);
    }

    public CallbackAddress Address { get; }

    public ConcurrentQueue<(CrnpEvent Event, long At)> Received { get; } = new();

    public int Malformed => _malformed;

    private int _malformed;

    public static CrnpTestListener Start(IPAddress? address = null) => new(address ?? IPAddress.Loopback, readNothing: false);

    /// <summary>A client that accepts connections and never reads from them.</summary>
    public static CrnpTestListener BlackHole(IPAddress? address = null) => new(address ?? IPAddress.Loopback, readNothing: true);

    /// <summary>An address on which nothing listens: connections are refused.</summary>
    public static CallbackAddress Refusing()
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        var port = ((IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop();
        return new CallbackAddress(IPAddress.Loopback, port);
    }

    public IReadOnlyList<CrnpEvent> Events => [.. Received.Select(r => r.Event)];

    public Task WaitForAsync(int count, TimeSpan? timeout = null) =>
        Eventually.TrueAsync(() => Task.FromResult(Received.Count >= count), $"{Address} received {count} events (has {Received.Count})", timeout ?? TimeSpan.FromSeconds(60));

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        try
        {
            await _accepting;
        }
        catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException or SocketException)
        {
            // Stopped.
        }
        _stop.Dispose();
    }

    private async Task AcceptLoopAsync()
    {
        var held = new List<Socket>();
        while (!_stop.IsCancellationRequested)
        {
            Socket socket;
            try
            {
                socket = await _listener.AcceptSocketAsync(_stop.Token);
            }
            catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                break;
            }

            if (_readNothing)
            {
                held.Add(socket);
                continue;
            }

            // One connection at a time, in accept order, as a single-threaded legacy client: the
            // order received is the order the server connected in.
            await ReadOneAsync(socket);
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
                    Received.Enqueue((parsed.Value, Stopwatch.GetTimestamp()));
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
