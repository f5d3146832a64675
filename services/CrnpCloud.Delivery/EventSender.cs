using System.Net.Sockets;
using CrnpCloud.Core;

namespace CrnpCloud.Delivery;

/// <summary>
/// One CRNP delivery: a new TCP connection to the callback address, one SC_EVENT document, a full
/// close (CRNP-SPEC section 4). Refused, unreachable, timed out or reset before the whole document
/// was written all throw <see cref="DeliveryFailedException"/>.
/// </summary>
public class EventSender(TimeProvider time)
{
    public virtual async Task SendAsync(CallbackAddress client, ReadOnlyMemory<byte> document, TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var deadline = new CancellationTokenSource(timeout, time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(deadline.Token, cancellationToken);
        using var socket = new Socket(client.Ip.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            // The caller's token (a stop) may cancel the connect, when nothing has reached the client.
            // Once connected the write runs to the end or the client timeout: bytes already in the
            // kernel's buffer would reach the client after a cancelled write, unacknowledged, and be
            // delivered twice by the partition's next owner.
            await socket.ConnectAsync(client.ToEndPoint(), linked.Token);
            var sent = 0;
            while (sent < document.Length)
            {
                sent += await socket.SendAsync(document[sent..], SocketFlags.None, deadline.Token);
            }
            socket.Shutdown(SocketShutdown.Both);
        }
        catch (OperationCanceledException) when (deadline.IsCancellationRequested)
        {
            throw new DeliveryFailedException($"timed out after {timeout.TotalSeconds:0.###} s");
        }
        catch (SocketException ex)
        {
            throw new DeliveryFailedException(ex.SocketErrorCode.ToString(), ex);
        }
    }
}

public sealed class DeliveryFailedException : Exception
{
    public DeliveryFailedException()
    {
    }

    public DeliveryFailedException(string message) : base(message)
    {
    }

    public DeliveryFailedException(string message, Exception inner) : base(message, inner)
    {
    }
}
