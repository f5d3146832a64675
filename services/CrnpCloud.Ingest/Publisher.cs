using System.Diagnostics;
using CrnpCloud.Core;
using Grpc.Core;
using Microsoft.Extensions.Options;

namespace CrnpCloud.Ingest;

/// <summary>
/// Validates one request and hands it to the store's atomic publish, carrying the caller's W3C
/// trace context into the stored event so delivery can continue the same trace.
/// </summary>
public sealed class Publisher(IEventLog store, IOptionsMonitor<IngestOptions> options, IngestTelemetry telemetry, TimeProvider time, ILogger<Publisher> logger)
{
    public async Task<V1.PublishReply> PublishAsync(V1.PublishRequest request, ServerCallContext context)
    {
        var started = time.GetTimestamp();
        var settings = options.CurrentValue;
        using var activity = IngestTelemetry.Source.StartActivity("crnp.publish", ActivityKind.Internal);
        try
        {
            var evt = EventValidator.ToEvent(request, settings);
            activity?.SetTag("crnp.event.class", evt.Class);
            activity?.SetTag("crnp.event.subclass", evt.Subclass);
            PublishResult result;

            // The atomic store step (global order, latest state, every matching client's queue) is
            // the fan-out; deliveries continue the trace from this span.
            using (var fanOut = IngestTelemetry.Source.StartActivity("crnp.fanout", ActivityKind.Producer))
            {
                var publish = new PublishOptions(
                    TraceParent(context),
                    request.IdempotencyKey.Length == 0 ? null : request.IdempotencyKey,
                    settings.IdempotencyWindow);
                result = await store.PublishAsync(evt, publish, context.CancellationToken);
                fanOut?.SetTag("crnp.event.sequence", result.Event.Sequence);
                fanOut?.SetTag("crnp.fanout.queued", result.Queued);
            }

            activity?.SetTag("crnp.event.sequence", result.Event.Sequence);
            activity?.SetTag("crnp.fanout", result.Queued);
            if (result.Duplicate)
            {
                telemetry.Rejected("duplicate");
                IngestLog.Duplicate(logger, request.IdempotencyKey, result.Event.Sequence);
            }
            else
            {
                telemetry.Published(result.Queued, time.GetElapsedTime(started));
                IngestLog.Published(logger, evt.Class, evt.Subclass, result.Event.Sequence, result.Queued);
            }
            return new V1.PublishReply
            {
                EventId = result.Event.Id,
                Sequence = result.Event.Sequence,
                QueuedClients = result.Queued,
                Duplicate = result.Duplicate,
            };
        }
        catch (RpcException ex)
        {
            telemetry.Rejected("invalid");
            IngestLog.Refused(logger, ex.StatusCode.ToString(), ex.Status.Detail);
            activity?.SetStatus(ActivityStatusCode.Error, ex.Status.Detail);
            throw;
        }
        catch (StoreNotReplicatedException ex)
        {
            // Written to the primary, not confirmed by enough replicas (Crnp:Store:MinReplicas): not
            // acknowledged. A retry with the same idempotency key is safe (PROTOCOL.md section 12).
            telemetry.Rejected("not_replicated");
            IngestLog.StoreUnavailable(logger, ex);
            activity?.SetStatus(ActivityStatusCode.Error, "not replicated");
            throw new RpcException(new Status(StatusCode.Unavailable, "the event was not confirmed by enough store replicas; retry with the same idempotency key"));
        }
        catch (StoreUnavailableException ex)
        {
            telemetry.Rejected("unavailable");
            IngestLog.StoreUnavailable(logger, ex);
            activity?.SetStatus(ActivityStatusCode.Error, "store unavailable");
            throw new RpcException(new Status(StatusCode.Unavailable, "the event store is unavailable; nothing was published, retry later"));
        }
    }

    // The span we are in, or (with no tracing listener in this process) the caller's own header, so
    // the trace continues either way.
    private static string? TraceParent(ServerCallContext context) =>
        Activity.Current?.IdFormat == ActivityIdFormat.W3C ? Activity.Current.Id : context.RequestHeaders.GetValue("traceparent");
}
