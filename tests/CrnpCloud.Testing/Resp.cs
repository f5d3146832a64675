using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace CrnpCloud.Testing;

/// <summary>
/// One Redis command over a fresh connection, for test fixtures that must ask a node or a Sentinel
/// directly (not through a client that follows failovers). Replies: string, long, object?[] or null;
/// an error reply is returned as an <see cref="Exception"/>-free string starting with "-".
/// </summary>
internal static class Resp
{
    /// <summary>The reply, or null when the node does not answer within 2 s (dead, stopped) or the reply is malformed.</summary>
    public static async Task<object?> TryAsync(int port, params string[] command)
    {
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
            using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port), timeout.Token);
            var request = new StringBuilder().Append('*').Append(command.Length).Append("\r\n");
            foreach (var part in command)
            {
                request.Append('$').Append(Encoding.UTF8.GetByteCount(part)).Append("\r\n").Append(part).Append("\r\n");
            }
            await socket.SendAsync(Encoding.UTF8.GetBytes(request.ToString()), SocketFlags.None, timeout.Token);
            await using var stream = new NetworkStream(socket, ownsSocket: false);
            using var reader = new BufferedStream(stream);
            return await ReadAsync(reader, timeout.Token);
        }
        catch (Exception ex) when (ex is SocketException or OperationCanceledException or IOException or FormatException)
        {
            return null;
        }
    }

    private static async Task<object?> ReadAsync(Stream stream, CancellationToken cancellationToken)
    {
        var line = await ReadLineAsync(stream, cancellationToken);
        var body = line[1..];
        switch (line[0])
        {
            case '+':
                return body;
            case '-':
                return "-" + body;
            case ':':
                return long.Parse(body, CultureInfo.InvariantCulture);
            case '$':
                var length = int.Parse(body, CultureInfo.InvariantCulture);
                if (length < 0)
                {
                    return null;
                }
                var bytes = new byte[length + 2];
                await stream.ReadExactlyAsync(bytes, cancellationToken);
                return Encoding.UTF8.GetString(bytes, 0, length);
            case '*':
                var count = int.Parse(body, CultureInfo.InvariantCulture);
                if (count < 0)
                {
                    return null;
                }
                var items = new object?[count];
                for (var i = 0; i < count; i++)
                {
                    items[i] = await ReadAsync(stream, cancellationToken);
                }
                return items;
            default:
                throw new FormatException("not a RESP2 reply: " + line);
        }
    }

    private static async Task<string> ReadLineAsync(Stream stream, CancellationToken cancellationToken)
    {
        var line = new StringBuilder();
        var one = new byte[1];
        while (true)
        {
            if (await stream.ReadAsync(one, cancellationToken) == 0)
            {
                throw new IOException("connection closed mid-reply");
            }
            if (one[0] == '\n' && line.Length > 0 && line[^1] == '\r')
            {
                return line.ToString(0, line.Length - 1);
            }
            if (line.Length > 1 << 20)
            {
                throw new FormatException("reply line too long");
            }
            line.Append((char)one[0]);
        }
    }
}
