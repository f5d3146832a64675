using System.Buffers;
using System.Net;
using System.Net.Sockets;
using System.Text;
using CrnpCloud.Protocol;

namespace CrnpCloud.Testing;

/// <summary>
/// Talks to an edge the way a legacy CRNP client does: connect (optionally from a chosen source
/// address), send the document with no half-close, read the reply until the server closes.
/// </summary>
public static class CrnpTestClient
{
    public static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    public static Task<CrnpReply> RegisterAsync(IPEndPoint server, CallbackRegistration message, IPAddress? from = null) =>
        SendAsync(server, CrnpWriter.ToBytes(message), from);

    public static async Task<CrnpReply> SendAsync(IPEndPoint server, byte[] document, IPAddress? from = null)
    {
        var raw = await ExchangeAsync(server, document, from);
        var parsed = CrnpParser.ParseReply(new ReadOnlySequence<byte>(raw));
        return parsed.IsSuccess
            ? parsed.Value
            : throw new InvalidOperationException($"server reply is not an SC_REPLY ({parsed}): '{Encoding.UTF8.GetString(raw)}'");
    }

    public static Task<CrnpReply> SendAsync(IPEndPoint server, string document, IPAddress? from = null) =>
        SendAsync(server, Encoding.UTF8.GetBytes(document), from);

    /// <summary>Sends the bytes and returns everything the server wrote before closing.</summary>
    public static async Task<byte[]> ExchangeAsync(IPEndPoint server, byte[] document, IPAddress? from = null)
    {
        using var timeout = new CancellationTokenSource(Patience);
        using var socket = await ConnectAsync(server, from, timeout.Token);
        await socket.SendAsync(document, SocketFlags.None, timeout.Token);
        return await ReadToEndAsync(socket, timeout.Token);
    }

    public static async Task<Socket> ConnectAsync(IPEndPoint server, IPAddress? from, CancellationToken cancellationToken)
    {
        var socket = new Socket(server.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
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
