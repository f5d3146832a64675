using System.Net.Sockets;
using CrnpCloud.Core;

namespace CrnpCloud.Delivery;

/// <summary>
/// One CRNP delivery: a new TCP connection to the callback address, one SC_EVENT document, a full
/// close (PROTOCOL.md section 4). Refused, unreachable, timed out or reset before the whole document
/// was written all throw <see cref="DeliveryFailedException"/>; a lease that lapsed on the way throws
/// <see cref="LeaseLapsedException"/> (not the client's fault, nothing is counted against it).
/// </summary>
internal class EventSender(TimeProvider time)
{
    /// <summary>One attempt with a single timeout for connect and write, under no lease.</summary>
    public Task SendAsync(CallbackAddress client, ReadOnlyMemory<byte> document, TimeSpan timeout, CancellationToken cancellationToken) =>
        SendAsync(client, document, timeout, timeout, null, cancellationToken);

    /// <param name="connectTimeout">the connect alone (within <paramref name="timeout"/>)</param>
    /// <param name="timeout">the whole attempt, connect and write (client_timeout)</param>
    /// <param name="lease">the lease the attempt runs under: its lapse ends the attempt, and it is checked
    /// again after the connect and before every write</param>
    /// <param name="cancellationToken">a stop, or the attempt put off: cancels the connect only</param>
    public virtual async Task SendAsync(CallbackAddress client, ReadOnlyMemory<byte> document, TimeSpan connectTimeout, TimeSpan timeout,
        ILeaseGuard? lease, CancellationToken cancellationToken)
    {
        var started = time.GetTimestamp();
        var connecting = connectTimeout < timeout;
        using var deadline = new CancellationTokenSource(connecting ? connectTimeout : timeout, time);
        using var ends = CancellationTokenSource.CreateLinkedTokenSource(deadline.Token, lease?.Lapsed ?? CancellationToken.None);
        using var socket = new Socket(client.Ip.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        var connected = false;
        try
        {
            // The caller's token (a stop) may cancel the connect, when nothing has reached the client.
            // Once connected the write runs to the end, the client timeout or the lease's lapse: bytes
            // already in the kernel's buffer would reach the client after a cancelled write,
            // unacknowledged, and be delivered twice by the partition's next owner.
            using (var connect = CancellationTokenSource.CreateLinkedTokenSource(ends.Token, cancellationToken))
            {
                await socket.ConnectAsync(client.ToEndPoint(), connect.Token);
            }
            connected = true;
            if (connecting)
            {
                var left = timeout - time.GetElapsedTime(started);
                if (left <= TimeSpan.Zero)
                {
                    throw new OperationCanceledException(deadline.Token);
                }
                connecting = false;
                deadline.CancelAfter(left);
            }

            var sent = 0;
            while (sent < document.Length)
            {
                // The connect may have completed while this process was stopped (SIGSTOP, a frozen VM)
                // past its lease, and another worker may have delivered newer events since: checked
                // here, right before the bytes go out, not only when the attempt started.
                if (lease is { IsValid: false })
                {
                    throw new LeaseLapsedException();
                }
                sent += await socket.SendAsync(document[sent..], SocketFlags.None, ends.Token);
            }
            socket.Shutdown(SocketShutdown.Both);
        }
        catch (Exception ex) when (ex is OperationCanceledException or LeaseLapsedException or SocketException && connected)
        {
            // Ended half-way: reset rather than close, so no client takes a truncated document for a whole one.
            socket.LingerState = new LingerOption(true, 0);
            throw Translate(ex);
        }
        catch (Exception ex) when (ex is OperationCanceledException or SocketException)
        {
            throw Translate(ex);
        }

        Exception Translate(Exception ex) => ex switch
        {
            LeaseLapsedException => ex,
            OperationCanceledException when lease is { Lapsed.IsCancellationRequested: true } => new LeaseLapsedException(),
            OperationCanceledException when deadline.IsCancellationRequested => new DeliveryFailedException(connecting
                ? $"connect timed out after {connectTimeout.TotalSeconds:0.###} s"
                : $"timed out after {timeout.TotalSeconds:0.###} s"),
            SocketException socketError => new DeliveryFailedException(socketError.SocketErrorCode.ToString(), socketError),
            _ => ex,
        };
    }
}

/// <summary>The lease a delivery runs under, as its sender sees it.</summary>
internal interface ILeaseGuard
{
    /// <summary>Whether deliveries may still go on under it (the local deadline, set short of its expiry in the store, not passed).</summary>
    bool IsValid { get; }

    /// <summary>Cancelled when the local deadline passes (or the partition is lost or stopped).</summary>
    CancellationToken Lapsed { get; }
}

internal sealed class DeliveryFailedException : Exception
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

/// <summary>The lease of the partition lapsed during an attempt: stop, the next owner delivers.</summary>
internal sealed class LeaseLapsedException : Exception
{
    public LeaseLapsedException() : base("the partition's lease lapsed")
    {
    }

    public LeaseLapsedException(string message) : base(message)
    {
    }

    public LeaseLapsedException(string message, Exception inner) : base(message, inner)
    {
    }
}
