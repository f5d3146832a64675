using CrnpCloud.Core;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using StatusCode = Grpc.Core.StatusCode;

namespace CrnpCloud.Ingest;

/// <summary>The event log, replays and dead letters of the admin API (PROTOCOL.md section 11).</summary>
internal sealed partial class AdminService
{
    private const int MaxEvents = 1000;
    private const int MaxDeadLetters = 1_000_000;

    public override Task<V1.ListEventsReply> ListEvents(V1.ListEventsRequest request, ServerCallContext context) =>
        Guard(async () =>
        {
            if (request.Max is < 0 or > MaxEvents)
            {
                throw new RpcException(new Status(StatusCode.InvalidArgument, $"max: must be between 0 and {MaxEvents}"));
            }
            var page = await history.ReadEventsAsync(request.HasAfter ? request.After : null, request.Max == 0 ? 100 : request.Max, context.CancellationToken);
            var reply = new V1.ListEventsReply { OldestSequence = page.OldestSequence, NewestSequence = page.NewestSequence };
            reply.Events.AddRange(page.Events.Select(ToLogged));
            return reply;
        });

    public override Task<V1.ReplayReply> Replay(V1.ReplayRequest request, ServerCallContext context) =>
        Guard(async () =>
        {
            var address = ParseAddress(request.Address);
            if (request.FromSequence < 0)
            {
                throw new RpcException(new Status(StatusCode.InvalidArgument, "from_sequence: must be 0 or more"));
            }
            var result = request.DeadLetters
                ? await history.ReplayDeadLettersAsync(address, context.CancellationToken)
                : await history.ReplayAsync(address, request.FromSequence, context.CancellationToken);
            switch (result.Status)
            {
                case ReplayStatus.NotRegistered:
                    throw new RpcException(new Status(StatusCode.NotFound, $"client {address} is not registered" + (request.DeadLetters ? "; dead letters are replayed once it has registered again" : "")));
                case ReplayStatus.OutOfRange:
                    throw new RpcException(new Status(StatusCode.OutOfRange,
                        $"the event log no longer holds the events after #{request.FromSequence}: its oldest event is #{result.OldestSequence} (replay from {result.OldestSequence - 1} or later; the log keeps Crnp:Store:LogMaxLength events)"));
            }
            var what = request.DeadLetters ? "dead letters" : $"log after #{request.FromSequence}";
            IngestLog.AdminReplayed(logger, address.ToString(), result.Queued, what, context.Peer);
            return new V1.ReplayReply
            {
                Queued = result.Queued,
                Message = request.DeadLetters
                    ? $"{result.Queued} dead letter(s) queued again for {address}"
                    : $"{result.Queued} event(s) after #{request.FromSequence} queued again for {address}",
            };
        });

    public override Task<V1.ListDeadLettersReply> ListDeadLetters(V1.ListDeadLettersRequest request, ServerCallContext context) =>
        Guard(async () =>
        {
            var address = ParseAddress(request.Address);
            if (request.Max is < 0 or > MaxDeadLetters)
            {
                throw new RpcException(new Status(StatusCode.InvalidArgument, $"max: must be between 0 and {MaxDeadLetters}"));
            }
            var letters = await history.ListDeadLettersAsync(address, request.Max == 0 ? 1000 : request.Max, context.CancellationToken);
            var reply = new V1.ListDeadLettersReply();
            reply.DeadLetters.AddRange(letters.Select(l => new V1.DeadLetter
            {
                Event = ToLogged(l.Event),
                Kind = l.Kind.ToString(),
                Reason = l.Reason,
                DeadAt = Timestamp.FromDateTimeOffset(l.DeadAt),
            }));
            return reply;
        });

    private static V1.LoggedEvent ToLogged(StoredEvent stored)
    {
        var evt = new V1.Event
        {
            Class = stored.Event.Class,
            Subclass = stored.Event.Subclass,
            Vendor = stored.Event.Vendor,
            Publisher = stored.Event.Publisher,
        };
        foreach (var pair in stored.Event.NameValues)
        {
            var nv = new V1.NameValue { Name = pair.Name };
            nv.Values.AddRange(pair.Values);
            evt.Nvpairs.Add(nv);
        }
        return new V1.LoggedEvent { Sequence = stored.Sequence, PublishedAt = Timestamp.FromDateTimeOffset(stored.PublishedAt), Event = evt };
    }
}
