using System.Buffers;
using System.IO.Pipelines;

namespace CrnpCloud.Protocol;

/// <summary>The outcome of reading one document from a connection.</summary>
public readonly record struct ReadOutcome<T>(ParseResult<T> Result, bool PeerSentNothing)
    where T : CrnpMessage;

/// <summary>
/// Reads exactly one CRNP document from a <see cref="PipeReader"/>: it returns as soon as the root
/// element closes (never waits for EOF), stops reading once the size limit is crossed, and turns an
/// early EOF into MALFORMED. Cancellation (timeouts) comes from the caller's token.
/// </summary>
public sealed class CrnpMessageReader(CrnpLimits? limits = null)
{
    private readonly CrnpLimits _limits = limits ?? CrnpLimits.Default;

    public ValueTask<ReadOutcome<CallbackRegistration>> ReadRegistrationAsync(PipeReader input, CancellationToken cancellationToken) =>
        ReadAsync(input, CrnpParser.ParseRegistration, cancellationToken);

    public ValueTask<ReadOutcome<CrnpReply>> ReadReplyAsync(PipeReader input, CancellationToken cancellationToken) =>
        ReadAsync(input, CrnpParser.ParseReply, cancellationToken);

    public ValueTask<ReadOutcome<CrnpEvent>> ReadEventAsync(PipeReader input, CancellationToken cancellationToken) =>
        ReadAsync(input, CrnpParser.ParseEvent, cancellationToken);

    private delegate ParseResult<T> Parser<T>(in ReadOnlySequence<byte> document, CrnpLimits? limits)
        where T : CrnpMessage;

    private async ValueTask<ReadOutcome<T>> ReadAsync<T>(PipeReader input, Parser<T> parse, CancellationToken cancellationToken)
        where T : CrnpMessage
    {
        var framer = new DocumentFramer(_limits);
        while (true)
        {
            var read = await input.ReadAsync(cancellationToken);
            var buffer = read.Buffer;
            var status = framer.Advance(buffer, out var length, out var error);
            switch (status)
            {
                case FrameStatus.Complete:
                    var result = parse(buffer.Slice(0, length), _limits);
                    input.AdvanceTo(buffer.GetPosition(length), buffer.End);
                    return new ReadOutcome<T>(result, false);
                case FrameStatus.Error:
                    input.AdvanceTo(buffer.End);
                    return new ReadOutcome<T>(ParseResult<T>.Failure(error), false);
            }

            if (read.IsCompleted || read.IsCanceled)
            {
                var nothing = buffer.IsEmpty;
                input.AdvanceTo(buffer.End);
                return new ReadOutcome<T>(ParseResult<T>.Failure(framer.TruncatedError()), nothing);
            }

            // Nothing consumed, everything examined: the pipe wakes us only when more bytes arrive.
            input.AdvanceTo(buffer.Start, buffer.End);
        }
    }
}
