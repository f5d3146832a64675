using Grpc.Core;

namespace CrnpCloud.Ingest;

/// <summary>The <c>crnp.v1.EventIngest</c> gRPC service.</summary>
internal sealed class EventIngestService(Publisher publisher) : V1.EventIngest.EventIngestBase
{
    public override Task<V1.PublishReply> Publish(V1.PublishRequest request, ServerCallContext context) =>
        publisher.PublishAsync(request, context);

    // Strictly one at a time: replies come back in request order and a stream's events keep their order.
    public override async Task PublishStream(IAsyncStreamReader<V1.PublishRequest> requestStream, IServerStreamWriter<V1.PublishReply> responseStream, ServerCallContext context)
    {
        await foreach (var request in requestStream.ReadAllAsync(context.CancellationToken))
        {
            var reply = await publisher.PublishAsync(request, context);
            await responseStream.WriteAsync(reply, context.CancellationToken);
        }
    }
}
