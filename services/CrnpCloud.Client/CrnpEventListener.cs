using System.Buffers;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using CrnpCloud.Protocol;

namespace CrnpCloud.Client;

/// <summary>How a <see cref="CrnpEventListener"/> listens and reads.</summary>
public sealed record CrnpListenerOptions
{
    /// <summary>
    /// False: one connection at a time, in accept order, as a single-threaded legacy client (the order
    /// received is the order the server connected in). True: every connection read at once, as a
    /// multi-threaded client may; deliveries come in the order their documents completed.
    /// </summary>
    public bool Concurrent { get; init; }

    /// <summary>The listen backlog (the system's maximum unless set).</summary>
    public int Backlog { get; init; } = int.MaxValue;

    /// <summary>The receive buffer, set before listening so that accepted connections inherit it.</summary>
    public int? ReceiveBufferSize { get; init; }

    /// <summary>How long one connection may take to bring its event.</summary>
    public TimeSpan ReadTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Where an event ends: at its root element's close, or when the server closes.</summary>
    public CrnpRead Read { get; init; } = CrnpRead.DocumentEnd;
}

/// <summary>What one delivery connection brought: an event, or why not.</summary>
/// <param name="From">the server's end of the connection</param>
/// <param name="At">when it was read (<see cref="Stopwatch.GetTimestamp"/>)</param>
public sealed record CrnpDelivery(EndPoint? From, long At)
{
    /// <summary>The SC_EVENT; null when the connection brought none.</summary>
    public CrnpEvent? Event { get; init; }

    /// <summary>Why what arrived is not an SC_EVENT (a close with nothing sent included).</summary>
    public CrnpError? Error { get; init; }

    /// <summary>The server closed without sending a byte.</summary>
    public bool PeerSentNothing { get; init; }

    /// <summary>The connection failed or timed out before the event was read.</summary>
    public Exception? Failure { get; init; }
}

/// <summary>
/// The delivery side of a CRNP client (PROTOCOL.md section 5): listen on the callback address, accept
/// each delivery connection and read one SC_EVENT from it. It listens from construction on (so the
/// port can be registered at once) and accepts from <see cref="Start"/> on.
/// </summary>
public sealed class CrnpEventListener : IAsyncDisposable
{
    private readonly Socket _socket;
    private readonly CrnpListenerOptions _options;
    private readonly CrnpMessageReader _reader = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly ConcurrentDictionary<Socket, Task> _reading = new();
    private Task _accepting = Task.CompletedTask;
    private int _started;

    /// <summary>Binds and listens (<see cref="IPAddress.IPv6Any"/> takes IPv4 too); throws <see cref="SocketException"/> if it cannot.</summary>
    public CrnpEventListener(IPEndPoint bind, CrnpListenerOptions? options = null)
    {
        _options = options ?? new CrnpListenerOptions();
        _socket = new Socket(bind.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            if (bind.Address.Equals(IPAddress.IPv6Any))
            {
                _socket.DualMode = true;
            }
            if (_options.ReceiveBufferSize is { } size)
            {
                _socket.ReceiveBufferSize = size;
            }
            _socket.Bind(bind);
            _socket.Listen(_options.Backlog);
        }
        catch
        {
            _socket.Dispose();
            throw;
        }
        LocalEndPoint = (IPEndPoint)_socket.LocalEndPoint!;
    }

    public IPEndPoint LocalEndPoint { get; }

    /// <summary>Accepted connections still being read (nothing or part of a document so far).</summary>
    public int Reading => _reading.Count;

    /// <summary>
    /// Starts accepting. <paramref name="admit"/> sees each accepted connection first and may keep it
    /// (false: this listener neither reads nor closes it). <paramref name="onDelivery"/> gets what each
    /// connection brought, before the connection is closed; with <see cref="CrnpListenerOptions.Concurrent"/>
    /// it is called from several connections at once. A read cut short by <see cref="DisposeAsync"/> is not reported.
    /// </summary>
    public void Start(Func<CrnpDelivery, ValueTask> onDelivery, Func<Socket, bool>? admit = null)
    {
        if (Interlocked.Exchange(ref _started, 1) == 1)
        {
            throw new InvalidOperationException("the listener is accepting already");
        }
        _accepting = Task.Run(() => AcceptLoopAsync(onDelivery, admit ?? (_ => true)));
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _socket.Dispose();
        try
        {
            await _accepting;
        }
        catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException or SocketException)
        {
            // Stopped.
        }
        await Task.WhenAll(_reading.Values);
        _stop.Dispose();
    }

    private async Task AcceptLoopAsync(Func<CrnpDelivery, ValueTask> onDelivery, Func<Socket, bool> admit)
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket connection;
            try
            {
                connection = await _socket.AcceptAsync(_stop.Token);
            }
            catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                break;
            }
            if (!admit(connection))
            {
                continue;
            }
            if (_options.Concurrent)
            {
                // Registered before it runs, so that Reading never misses it and DisposeAsync waits for it.
                var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                _reading[connection] = done.Task;
                _ = Task.Run(async () =>
                {
                    try
                    {
                        await ReceiveAsync(connection, onDelivery);
                    }
                    finally
                    {
                        _reading.TryRemove(connection, out _);
                        done.SetResult();
                    }
                });
            }
            else
            {
                _reading[connection] = Task.CompletedTask;
                try
                {
                    await ReceiveAsync(connection, onDelivery);
                }
                finally
                {
                    _reading.TryRemove(connection, out _);
                }
            }
        }
    }

    private async Task ReceiveAsync(Socket connection, Func<CrnpDelivery, ValueTask> onDelivery)
    {
        using (connection)
        {
            var from = connection.RemoteEndPoint;
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
            timeout.CancelAfter(_options.ReadTimeout);
            CrnpDelivery delivery;
            try
            {
                delivery = await ReadAsync(connection, from, timeout.Token);
            }
            catch (Exception ex) when (ex is IOException or SocketException or OperationCanceledException)
            {
                if (_stop.IsCancellationRequested)
                {
                    return;
                }
                delivery = new CrnpDelivery(from, Stopwatch.GetTimestamp()) { Failure = ex };
            }
            await onDelivery(delivery);
        }
    }

    private async Task<CrnpDelivery> ReadAsync(Socket connection, EndPoint? from, CancellationToken cancellationToken)
    {
        ParseResult<CrnpEvent> result;
        bool nothing;
        if (_options.Read == CrnpRead.PeerClose)
        {
            var bytes = await CrnpRegistrar.ReadToEndAsync(connection, cancellationToken);
            result = CrnpParser.ParseEvent(new ReadOnlySequence<byte>(bytes));
            nothing = bytes.Length == 0;
        }
        else
        {
            await using var stream = new NetworkStream(connection, ownsSocket: false);
            var outcome = await _reader.ReadEventAsync(PipeReader.Create(stream), cancellationToken);
            (result, nothing) = (outcome.Result, outcome.PeerSentNothing);
        }
        var at = Stopwatch.GetTimestamp();
        return result.IsSuccess
            ? new CrnpDelivery(from, at) { Event = result.Value }
            : new CrnpDelivery(from, at) { Error = result.Error, PeerSentNothing = nothing };
    }
}
