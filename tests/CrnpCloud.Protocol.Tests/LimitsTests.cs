using System.Text;

namespace CrnpCloud.Protocol.Tests;

public sealed class LimitsTests
{
    private static readonly CrnpLimits Small = new()
    {
        MaxDocumentBytes = 4096,
        MaxEventRegistrations = 3,
        MaxNameValues = 2,
        MaxValuesPerName = 2,
        MaxTextLength = 8,
        MaxDepth = 6,
    };

    private static string Types(int count) =>
        string.Concat(Enumerable.Repeat("<SC_EVENT_REG CLASS=\"c\"/>", count));

    private static string Pairs(int pairs, int values) => string.Concat(Enumerable.Repeat(
        "<NVPAIR><NAME>n</NAME>" + string.Concat(Enumerable.Repeat("<VALUE>v</VALUE>", values)) + "</NVPAIR>", pairs));

    [Theory]
    [InlineData(3, StatusCode.Ok)]
    [InlineData(4, StatusCode.Malformed)]
    public void EventRegistrations_OverLimit_AreMalformed(int count, StatusCode expected)
    {
        var xml = Samples.Registration("PORT=\"1\" REG_TYPE=\"ADD_CLIENT\"", Types(count));

        Assert.Equal(expected, Parse.RegistrationStatus(xml, Small));
    }

    [Theory]
    [InlineData(2, 2, StatusCode.Ok)]
    [InlineData(3, 1, StatusCode.Malformed)]
    [InlineData(1, 3, StatusCode.Malformed)]
    public void NameValues_OverLimit_AreMalformed(int pairs, int values, StatusCode expected)
    {
        var xml = Samples.Registration("PORT=\"1\" REG_TYPE=\"ADD_CLIENT\"", $"<SC_EVENT_REG CLASS=\"c\">{Pairs(pairs, values)}</SC_EVENT_REG>");

        Assert.Equal(expected, Parse.RegistrationStatus(xml, Small));
    }

    [Theory]
    [InlineData("<SC_EVENT_REG CLASS=\"123456789\"/>")]
    [InlineData("<SC_EVENT_REG CLASS=\"c\" SUBCLASS=\"123456789\"/>")]
    [InlineData("<SC_EVENT_REG CLASS=\"c\"><NVPAIR><NAME>123456789</NAME><VALUE>v</VALUE></NVPAIR></SC_EVENT_REG>")]
    [InlineData("<SC_EVENT_REG CLASS=\"c\"><NVPAIR><NAME>n</NAME><VALUE>1234<![CDATA[56789]]></VALUE></NVPAIR></SC_EVENT_REG>")]
    public void Text_OverLimit_IsMalformed(string body)
    {
        var xml = Samples.Registration("PORT=\"1\" REG_TYPE=\"ADD_CLIENT\"", body);

        Assert.Equal(StatusCode.Malformed, Parse.RegistrationStatus(xml, Small));
    }

    [Fact]
    public void Document_OverLimit_IsMalformed()
    {
        var xml = Samples.Registration("PORT=\"1\" REG_TYPE=\"ADD_CLIENT\"", new string(' ', 5000));

        var result = Parse.Registration(xml, Small);

        Assert.Equal(StatusCode.Malformed, result.Error.Status);
        Assert.Contains("4096", result.Error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Framer_DeepNesting_IsMalformedBeforeParsing()
    {
        var deep = new StringBuilder();
        for (var i = 0; i < 7; i++)
        {
            deep.Append("<a>");
        }
        var framer = new DocumentFramer(Small);

        var status = framer.Advance(new(Samples.Utf8(deep.ToString())), out _, out var error);

        Assert.Equal(FrameStatus.Error, status);
        Assert.Equal(StatusCode.Malformed, error.Status);
        Assert.Contains("nested", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Framer_StopsAtTheSizeLimit_WithoutCompleting()
    {
        var framer = new DocumentFramer(Small);
        var huge = Samples.Utf8("<SC_CALLBACK_REG>" + new string('x', 100_000));

        var status = framer.Advance(new(huge), out _, out var error);

        Assert.Equal(FrameStatus.Error, status);
        Assert.Equal(StatusCode.Malformed, error.Status);
    }
}
