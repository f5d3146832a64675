using System.Net;
using System.Net.Sockets;
using System.Text;
using CrnpCloud.Client;
using CrnpCloud.Protocol;

namespace CrnpCloud.Testing;

/// <summary>
/// Talks to an edge the way a legacy CRNP client does (<see cref="CrnpRegistrar"/>): connect
/// (optionally from a chosen source address), send the document with no half-close, read the reply
/// until the server closes, within <see cref="Patience"/>.
/// </summary>
public static class CrnpTestClient
{
    public static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    public static Task<CrnpReply> RegisterAsync(IPEndPoint server, CallbackRegistration message, IPAddress? from = null) =>
        SendAsync(server, CrnpWriter.ToBytes(message), from);

    public static Task<CrnpReply> SendAsync(IPEndPoint server, byte[] document, IPAddress? from = null) =>
        CrnpRegistrar.SendAsync(server, document, Options(from));

    public static Task<CrnpReply> SendAsync(IPEndPoint server, string document, IPAddress? from = null) =>
        SendAsync(server, Encoding.UTF8.GetBytes(document), from);

    public static Task<Socket> ConnectAsync(IPEndPoint server, IPAddress? from, CancellationToken cancellationToken) =>
        CrnpRegistrar.ConnectAsync(server, from, cancellationToken);

    public static Task<byte[]> ReadToEndAsync(Socket socket, CancellationToken cancellationToken) =>
        CrnpRegistrar.ReadToEndAsync(socket, cancellationToken);

    private static CrnpExchangeOptions Options(IPAddress? from) => new() { Timeout = Patience, From = from, Read = CrnpRead.PeerClose };
}
