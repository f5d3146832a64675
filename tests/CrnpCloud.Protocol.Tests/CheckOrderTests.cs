using System.IO.Pipelines;

namespace CrnpCloud.Protocol.Tests;

/// <summary>
/// A document that fails several checks gets the status of the first one (PROTOCOL.md section 3,
/// "Which check answers first"): the framer's verdict (in byte order, the size limit included)
/// before the parser's; in the parser, UTF-8 before anything else, then document order.
/// </summary>
public sealed class CheckOrderTests
{
    private static readonly CrnpLimits Small = CrnpLimits.Default with { MaxDocumentBytes = 256, MaxEventRegistrations = 1 };

    private static async Task<CrnpError> ReadAsync(string xml, CrnpLimits? limits = null)
    {
        var pipe = new Pipe();
        await pipe.Writer.WriteAsync(Samples.Utf8(xml));
        await pipe.Writer.CompleteAsync();
        var outcome = await new CrnpMessageReader(limits).ReadRegistrationAsync(pipe.Reader, CancellationToken.None);
        return outcome.Result.Error;
    }

    [Fact]
    public async Task InternalSubset_WithinTheSizeLimit_BeatsOversize()
    {
        var error = await ReadAsync("<!DOCTYPE SC_CALLBACK_REG [" + new string(' ', 1000), Small);

        Assert.Equal(StatusCode.Invalid, error.Status);
    }

    [Fact]
    public async Task Oversize_BeatsWhatFollowsTheLimit()
    {
        var error = await ReadAsync("<SC_CALLBACK_REG PORT=\"1\" REG_TYPE=\"ADD_CLIENT\">" + new string(' ', 1000) + "<!ENTITY e \"x\">", Small);

        Assert.Equal(StatusCode.Malformed, error.Status);
        Assert.Contains("256", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task FramerMalformed_BeatsAnEarlierDtdViolation()
    {
        // Unknown attribute and bad PORT come first, but the parser only runs on a framed document.
        var error = await ReadAsync("<SC_CALLBACK_REG FOO=\"1\" PORT=\"0\" REG_TYPE=\"ADD_CLIENT\"><a></b></SC_CALLBACK_REG>");

        Assert.Equal(StatusCode.Malformed, error.Status);
    }

    [Fact]
    public async Task MarkupDeclaration_BeatsALaterMalformedByte()
    {
        var error = await ReadAsync("<SC_CALLBACK_REG PORT=\"1\" REG_TYPE=\"ADD_CLIENT\"><!ENTITY e \"x\"><a></b>");

        Assert.Equal(StatusCode.Invalid, error.Status);
    }

    [Fact]
    public async Task ATruncatedDocument_IsMalformed_WhateverItsAttributes()
    {
        var error = await ReadAsync("<SC_CALLBACK_REG VERSION=\"2.0\" PORT=\"0\" REG_TYPE=\"JOIN\">");

        Assert.Equal(StatusCode.Malformed, error.Status);
    }

    [Fact]
    public void InvalidUtf8_AnywhereInTheDocument_BeatsDtdViolations()
    {
        var bytes = Samples.Utf8("<SC_CALLBACK_REG VERSION=\"2.0\" PORT=\"0\" REG_TYPE=\"JOIN\"><SC_EVENT_REG CLASS=\"x\"/></SC_CALLBACK_REG>");
        bytes[^30] = 0xFF;

        Assert.Equal(StatusCode.Malformed, Parse.Any(bytes).Error.Status);
    }

    [Fact]
    public void DoctypeNamingAnotherRoot_BeatsTheVersion()
    {
        Assert.Equal(StatusCode.Invalid, Parse.RegistrationStatus("<!DOCTYPE SC_REPLY><SC_CALLBACK_REG VERSION=\"2.0\" PORT=\"1\" REG_TYPE=\"ADD_CLIENT\"/>"));
    }

    [Fact]
    public void UnknownAttribute_BeatsTheVersion_WhereverItStands()
    {
        Assert.Equal(StatusCode.Invalid, Parse.RegistrationStatus("<SC_CALLBACK_REG VERSION=\"2.0\" PORT=\"1\" REG_TYPE=\"ADD_CLIENT\" FOO=\"x\"/>"));
    }

    [Fact]
    public void Version_BeatsPortAndRegType()
    {
        Assert.Equal(StatusCode.VersionTooHigh, Parse.RegistrationStatus("<SC_CALLBACK_REG REG_TYPE=\"JOIN\" PORT=\"0\" VERSION=\"2.0\"/>"));
        Assert.Equal(StatusCode.VersionTooLow, Parse.RegistrationStatus("<SC_CALLBACK_REG REG_TYPE=\"JOIN\" PORT=\"0\" VERSION=\"0.9\"><BOGUS/></SC_CALLBACK_REG>"));
    }

    [Fact]
    public void Port_BeatsRegType()
    {
        var result = Parse.Registration("<SC_CALLBACK_REG REG_TYPE=\"JOIN\" PORT=\"0\"/>");

        Assert.Equal(StatusCode.Invalid, result.Error.Status);
        Assert.Contains("PORT", result.Error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void InsideTheRoot_TheFirstProblemInDocumentOrderWins()
    {
        const string attributes = "PORT=\"1\" REG_TYPE=\"ADD_CLIENT\"";
        const string tooMany = "<SC_EVENT_REG CLASS=\"a\"/><SC_EVENT_REG CLASS=\"b\"/>";

        Assert.Equal(StatusCode.Invalid, Parse.RegistrationStatus(Samples.Registration(attributes, "<BOGUS/>" + tooMany), Small));
        Assert.Equal(StatusCode.Malformed, Parse.RegistrationStatus(Samples.Registration(attributes, tooMany + "<BOGUS/>"), Small));
        Assert.Equal(StatusCode.Invalid, Parse.RegistrationStatus(Samples.Registration(attributes, "<BOGUS/><SC_EVENT_REG CLASS=\"&#0;\"/>")));
        Assert.Equal(StatusCode.Malformed, Parse.RegistrationStatus(Samples.Registration(attributes, "<SC_EVENT_REG CLASS=\"&#0;\"/><BOGUS/>")));
    }

    [Fact]
    public void AddEventsWithoutTypes_IsDecidedLast()
    {
        Assert.Equal(StatusCode.Malformed, Parse.RegistrationStatus(Samples.Registration("PORT=\"1\" REG_TYPE=\"ADD_EVENTS\"", "<SC_EVENT_REG CLASS=\"&#0;\"/>")));
        Assert.Equal(StatusCode.VersionTooHigh, Parse.RegistrationStatus("<SC_CALLBACK_REG VERSION=\"2\" PORT=\"1\" REG_TYPE=\"ADD_EVENTS\"/>"));
    }
}
