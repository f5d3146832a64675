using System.Buffers;
using System.Diagnostics;
using System.Net;
using CrnpCloud.Core;
using CrnpCloud.Protocol;
using CrnpCloud.ServiceDefaults;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Options;

namespace CrnpCloud.Edge;

/// <summary>
/// One registration per connection: admit it (<see cref="ConnectionAdmission"/>: a denied host is
/// answered FAIL, a connection over the per-address or global limit LOW_RESOURCE, both at once and
/// without reading), read one SC_CALLBACK_REG (no EOF needed), apply it, write one SC_REPLY, close.
/// A peer silent for IdleTimeout, or that does not finish its document within ClientTimeout, is
/// closed without a reply. Nothing thrown here escapes the connection.
/// </summary>
internal sealed class CrnpConnectionHandler(
    RegistrationService registrations,
    ConnectionAdmission admission,
    IOptionsMonitor<EdgeOptions> options,
    EdgeTelemetry telemetry,
    TimeProvider time,
    ILogger<CrnpConnectionHandler> logger) : ConnectionHandler
{
    private static readonly TimeSpan LogInterval = TimeSpan.FromSeconds(10);

    private readonly LogThrottle _deniedLog = new(time, LogInterval);
    private readonly LogThrottle _addressLimitLog = new(time, LogInterval);
    private readonly LogThrottle _globalLimitLog = new(time, LogInterval);
    private readonly LogThrottle _idleLog = new(time, LogInterval);

    public override async Task OnConnectedAsync(ConnectionContext connection)
    {
        var settings = options.CurrentValue;
        var remote = (connection.RemoteEndPoint as IPEndPoint)?.Address is { } ip ? CallbackAddress.Normalize(ip) : null;
        var refusal = admission.TryAdmit(remote, out var lease);
        if (refusal != AdmissionRefusal.None)
        {
            await RefuseAsync(connection, refusal, remote, settings);
            return;
        }
        using var _ = lease;
        await ServeAsync(connection, remote, settings);
    }

    // Answered before a byte is read: the peer's document, if it sends one, is never parsed.
    private async Task RefuseAsync(ConnectionContext connection, AdmissionRefusal refusal, IPAddress? remote, EdgeOptions settings)
    {
        CrnpReply reply;
        long suppressed;
        switch (refusal)
        {
            case AdmissionRefusal.Denied:
                telemetry.Refused("denied");
                reply = new CrnpReply(StatusCode.Fail, $"host {remote} is not allowed to register");
                if (_deniedLog.TryEnter(out suppressed))
                {
                    EdgeLog.DeniedAtAccept(logger, remote, suppressed);
                }
                break;
            case AdmissionRefusal.AddressLimit:
                telemetry.Refused("address_limit");
                reply = new CrnpReply(StatusCode.LowResource, $"too many registration connections open from host {remote}; retry later");
                if (_addressLimitLog.TryEnter(out suppressed))
                {
                    EdgeLog.AddressLimitReached(logger, remote, settings.MaxConnectionsPerAddress, suppressed);
                }
                break;
            default:
                telemetry.Refused("global_limit");
                reply = new CrnpReply(StatusCode.LowResource, "too many registration connections open; retry later");
                if (_globalLimitLog.TryEnter(out suppressed))
                {
                    EdgeLog.GlobalLimitReached(logger, remote, settings.MaxConcurrentConnections, suppressed);
                }
                break;
        }
        await TryWriteAsync(connection, reply, remote);
    }

    private async Task ServeAsync(ConnectionContext connection, IPAddress? remote, EdgeOptions settings)
    {
        var started = time.GetTimestamp();
        using var activity = EdgeTelemetry.Source.StartActivity("crnp.register", ActivityKind.Server);
        activity?.SetTag("net.peer.ip", remote?.ToString());

        // One deadline for the whole exchange: reading the document and applying it. The read is not
        // tied to ConnectionClosed: that fires on the client's FIN, and a document followed by a
        // close (or a truncated one followed by a half-close) must still be answered or applied.
        // Each wait for a byte is also cut after IdleTimeout (IdleTimeoutPipeReader).
        using var deadline = new CancellationTokenSource(settings.ClientTimeout, time);
        using var input = new IdleTimeoutPipeReader(connection.Transport.Input, settings.IdleTimeout, time);
        try
        {
            var outcome = await new CrnpMessageReader(settings.Limits).ReadRegistrationAsync(input, deadline.Token);
            if (outcome.PeerSentNothing)
            {
                return;
            }

            CrnpReply reply;
            var regType = "unknown";
            if (!outcome.Result.IsSuccess)
            {
                reply = new CrnpReply(outcome.Result.Error.Status, outcome.Result.Error.Message);
                EdgeLog.Refused(logger, remote, reply.Status.ToWire(), reply.Message);
            }
            else if (remote is null)
            {
                reply = new CrnpReply(StatusCode.Fail, "the server cannot tell the source address of this connection");
            }
            else
            {
                var message = outcome.Result.Value;
                regType = message.Type.ToWire();
                activity?.SetTag("crnp.reg_type", regType);
                activity?.SetTag("crnp.client", $"{remote}:{message.Port}");

                // Not the connection's token: a client that hangs up before the reply is still registered.
                reply = await ApplyAsync(remote, message, deadline.Token);
                EdgeLog.Answered(logger, regType, new IPEndPoint(remote, message.Port).ToString(), reply.Status.ToWire(), reply.Message);
            }

            activity?.SetTag("crnp.status", reply.Status.ToWire());
            if (reply.Status != StatusCode.Ok)
            {
                activity?.SetStatus(ActivityStatusCode.Error, reply.Status.ToWire());
            }
            telemetry.Answered(reply.Status, regType, time.GetElapsedTime(started));
            await WriteReplyAsync(connection, reply, remote, deadline.Token);
        }
        catch (OperationCanceledException) when (input.TimedOut && !deadline.IsCancellationRequested)
        {
            telemetry.IdleClosed();
            if (_idleLog.TryEnter(out var suppressed))
            {
                EdgeLog.IdleTimedOut(logger, remote, settings.IdleTimeout, suppressed);
            }
        }
        catch (OperationCanceledException) when (deadline.IsCancellationRequested)
        {
            EdgeLog.TimedOut(logger, remote, settings.ClientTimeout);
        }
        catch (Exception ex) when (ex is ConnectionResetException or IOException || (ex is OperationCanceledException && connection.ConnectionClosed.IsCancellationRequested))
        {
            // The peer reset the connection mid-document: nothing to answer.
            EdgeLog.PeerReset(logger, remote);
        }
        catch (Exception ex)
        {
            EdgeLog.Fault(logger, ex, remote);
            activity?.SetStatus(ActivityStatusCode.Error, ex.GetType().Name);
            await TryWriteAsync(connection, new CrnpReply(StatusCode.SystemError, "unexpected server error"), remote);
        }
    }

    private async Task<CrnpReply> ApplyAsync(IPAddress remote, CallbackRegistration message, CancellationToken cancellationToken)
    {
        try
        {
            return await registrations.ApplyAsync(remote, message, cancellationToken);
        }
        catch (StoreUnavailableException ex)
        {
            EdgeLog.StoreUnavailable(logger, ex, message.Type.ToWire(), $"{remote}:{message.Port}");
            return ex is StoreNotReplicatedException
                ? new CrnpReply(StatusCode.Retry, "the registration was not confirmed by enough store replicas; send it again")
                : new CrnpReply(StatusCode.Retry, "the registration store is temporarily unavailable; nothing was changed, retry later");
        }
    }

    private async Task WriteReplyAsync(ConnectionContext connection, CrnpReply reply, IPAddress? remote, CancellationToken cancellationToken)
    {
        try
        {
            var output = connection.Transport.Output;
            CrnpWriter.Write(reply, output);
            await output.FlushAsync(cancellationToken);
            await output.CompleteAsync();
        }
        catch (Exception ex) when (ex is IOException or ConnectionResetException or OperationCanceledException or InvalidOperationException)
        {
            EdgeLog.ReplyLost(logger, ex, remote);
        }
    }

    private async Task TryWriteAsync(ConnectionContext connection, CrnpReply reply, IPAddress? remote)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5), time);
        await WriteReplyAsync(connection, reply, remote, timeout.Token);
    }
}
