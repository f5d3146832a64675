using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using System.Text;
using CrnpCloud.Protocol;

namespace CrnpCloud.Client;

/// <summary>How one registration exchange runs.</summary>
public sealed record CrnpExchangeOptions
{
    public static readonly CrnpExchangeOptions Default = new();

    /// <summary>How long the whole exchange (connect, send, reply) may take.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>The address to connect from; null leaves it to the system.</summary>
    public IPAddress? From { get; init; }

    /// <summary>Where the reply ends: at its root element's close, or when the server closes.</summary>
    public CrnpRead Read { get; init; } = CrnpRead.DocumentEnd;
}

/// <summary>
/// The registration side of a CRNP client (PROTOCOL.md section 4): connect to the server, send one
/// SC_CALLBACK_REG with no half-close, read its SC_REPLY. Connection failures surface as they come
/// (<see cref="SocketException"/> on connect, <see cref="SocketException"/> or <see cref="IOException"/>
/// while reading, <see cref="OperationCanceledException"/> at the timeout); an answer that is not an
/// SC_REPLY as <see cref="CrnpReplyException"/>.
/// </summary>
public static class CrnpRegistrar
{
    public static Task<CrnpReply> RegisterAsync(EndPoint server, CallbackRegistration registration, CrnpExchangeOptions? options = null, CancellationToken cancellationToken = default) =>
        SendAsync(server, CrnpWriter.ToBytes(registration), options, cancellationToken);

    /// <summary>Sends any bytes as the registration document and reads the reply.</summary>
    public static async Task<CrnpReply> SendAsync(EndPoint server, ReadOnlyMemory<byte> document, CrnpExchangeOptions? options = null, CancellationToken cancellationToken = default)
    {
        options ??= CrnpExchangeOptions.Default;
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(options.Timeout);
        using var socket = await ConnectAsync(server, options.From, deadline.Token);
        await socket.SendAsync(document, SocketFlags.None, deadline.Token);
        if (options.Read == CrnpRead.PeerClose)
        {
            var raw = await ReadToEndAsync(socket, deadline.Token);
            var parsed = CrnpParser.ParseReply(new ReadOnlySequence<byte>(raw));
            return parsed.IsSuccess ? parsed.Value : throw new CrnpReplyException(parsed.Error, raw);
        }
        await using var stream = new NetworkStream(socket, ownsSocket: false);
        var outcome = await new CrnpMessageReader().ReadReplyAsync(PipeReader.Create(stream), deadline.Token);
        return outcome.Result.IsSuccess ? outcome.Result.Value : throw new CrnpReplyException(outcome.Result.Error, null);
    }

    /// <summary>A TCP connection to the server, without Nagle's delay, from <paramref name="from"/> when given.</summary>
    public static async Task<Socket> ConnectAsync(EndPoint server, IPAddress? from, CancellationToken cancellationToken)
    {
        // A host name (DnsEndPoint) goes through a dual-mode socket, which tries each of its addresses.
        var socket = server is IPEndPoint ip
            ? new Socket(ip.AddressFamily, SocketType.Stream, ProtocolType.Tcp)
            : new Socket(SocketType.Stream, ProtocolType.Tcp);
        try
        {
            socket.NoDelay = true;
            if (from is not null)
            {
                socket.Bind(new IPEndPoint(from, 0));
            }
            await socket.ConnectAsync(server, cancellationToken);
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>Everything the peer sends until it closes.</summary>
    public static async Task<byte[]> ReadToEndAsync(Socket socket, CancellationToken cancellationToken)
    {
        var received = new MemoryStream();
        var buffer = new byte[4096];
        while (true)
        {
            var n = await socket.ReceiveAsync(buffer, SocketFlags.None, cancellationToken);
            if (n == 0)
            {
                return received.ToArray();
            }
            received.Write(buffer, 0, n);
        }
    }
}

/// <summary>The server answered with something that is not an SC_REPLY.</summary>
public sealed class CrnpReplyException : InvalidOperationException
{
    public CrnpReplyException(CrnpError error, byte[]? received)
        : base($"server reply is not an SC_REPLY ({error.Status.ToWire()}: {error.Message})" + (received is null ? "" : $": '{Encoding.UTF8.GetString(received)}'"))
    {
        Error = error;
        Received = received;
    }

    /// <summary>Why the answer is not an SC_REPLY.</summary>
    public CrnpError Error { get; }

    /// <summary>The whole answer, when it was read to the server's close.</summary>
    public byte[]? Received { get; }
}
