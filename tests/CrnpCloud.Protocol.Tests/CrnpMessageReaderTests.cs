using System.IO.Pipelines;

namespace CrnpCloud.Protocol.Tests;

public sealed class CrnpMessageReaderTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task Read_ReturnsAtRootClose_WhileTheWriterStaysOpen()
    {
        var pipe = new Pipe();
        await pipe.Writer.WriteAsync(Samples.Utf8(Samples.SpecExample));

        var outcome = await new CrnpMessageReader().ReadRegistrationAsync(pipe.Reader, CancellationToken.None).AsTask().WaitAsync(Patience);

        Assert.True(outcome.Result.IsSuccess, outcome.Result.ToString());
        Assert.Equal(18888, outcome.Result.Value.Port);
    }

    [Fact]
    public async Task Read_OneByteAtATime_AssemblesTheDocument()
    {
        var pipe = new Pipe();
        var bytes = Samples.Utf8(Samples.SpecExample);
        var reading = new CrnpMessageReader().ReadRegistrationAsync(pipe.Reader, CancellationToken.None).AsTask();

        foreach (var b in bytes)
        {
            Assert.False(reading.IsCompleted);
            await pipe.Writer.WriteAsync(new[] { b });
        }

        var outcome = await reading.WaitAsync(Patience);
        Assert.True(outcome.Result.IsSuccess, outcome.Result.ToString());
        Assert.Equal(2, outcome.Result.Value.Events.Count);
    }

    [Fact]
    public async Task Read_EofMidElement_IsMalformedTruncation()
    {
        var pipe = new Pipe();
        await pipe.Writer.WriteAsync(Samples.Utf8(Samples.SpecExample[..120]));
        await pipe.Writer.CompleteAsync();

        var outcome = await new CrnpMessageReader().ReadRegistrationAsync(pipe.Reader, CancellationToken.None);

        Assert.Equal(StatusCode.Malformed, outcome.Result.Error.Status);
        Assert.Contains("truncated", outcome.Result.Error.Message, StringComparison.Ordinal);
        Assert.False(outcome.PeerSentNothing);
    }

    [Fact]
    public async Task Read_ImmediateEof_SaysThePeerSentNothing()
    {
        var pipe = new Pipe();
        await pipe.Writer.CompleteAsync();

        var outcome = await new CrnpMessageReader().ReadRegistrationAsync(pipe.Reader, CancellationToken.None);

        Assert.True(outcome.PeerSentNothing);
        Assert.False(outcome.Result.IsSuccess);
    }

    [Fact]
    public async Task Read_Oversize_StopsAtTheLimit_WithoutWaitingForTheRest()
    {
        var limits = new CrnpLimits { MaxDocumentBytes = 1024 };
        var pipe = new Pipe();
        var reading = new CrnpMessageReader(limits).ReadRegistrationAsync(pipe.Reader, CancellationToken.None).AsTask();

        await pipe.Writer.WriteAsync(Samples.Utf8("<SC_CALLBACK_REG PORT=\"1\" REG_TYPE=\"ADD_CLIENT\">" + new string(' ', 2000)));

        var outcome = await reading.WaitAsync(Patience);
        Assert.Equal(StatusCode.Malformed, outcome.Result.Error.Status);
        Assert.Contains("1024", outcome.Result.Error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Read_Doctype_IsRefusedBeforeTheDocumentEnds()
    {
        var pipe = new Pipe();
        var reading = new CrnpMessageReader().ReadRegistrationAsync(pipe.Reader, CancellationToken.None).AsTask();

        // Only the start of the billion-laughs payload: the verdict must not need the rest.
        await pipe.Writer.WriteAsync(Samples.Utf8(Samples.BillionLaughs[..40]));

        var outcome = await reading.WaitAsync(Patience);
        Assert.Equal(StatusCode.Invalid, outcome.Result.Error.Status);
    }

    [Fact]
    public async Task Read_Cancelled_Throws()
    {
        var pipe = new Pipe();
        await pipe.Writer.WriteAsync(Samples.Utf8("<SC_CALLBACK_REG"));
        using var timeout = new CancellationTokenSource(TimeSpan.FromMilliseconds(50));

        await Assert.ThrowsAnyAsync<OperationCanceledException>(
            async () => await new CrnpMessageReader().ReadRegistrationAsync(pipe.Reader, timeout.Token));
    }

    [Fact]
    public async Task Read_BytesAfterTheRootInTheSameRead_AreMalformed()
    {
        var pipe = new Pipe();
        await pipe.Writer.WriteAsync(Samples.Utf8(Samples.SpecExample + "<extra/>"));

        var outcome = await new CrnpMessageReader().ReadRegistrationAsync(pipe.Reader, CancellationToken.None);

        Assert.Equal(StatusCode.Malformed, outcome.Result.Error.Status);
    }
}
