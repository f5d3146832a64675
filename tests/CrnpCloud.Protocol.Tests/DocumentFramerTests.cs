using System.Buffers;

namespace CrnpCloud.Protocol.Tests;

public sealed class DocumentFramerTests
{
    public static TheoryData<string> Documents() => new()
    {
        Samples.SpecExample,
        "\uFEFF<SC_CALLBACK_REG PORT=\"1\" REG_TYPE=\"ADD_CLIENT\"/>",
        "<!-- a > comment --><?pi with > inside?>\n<SC_CALLBACK_REG PORT='1' REG_TYPE='ADD_CLIENT'><!-- </SC_CALLBACK_REG> --><SC_EVENT_REG CLASS=\"a>b/\"><NVPAIR><NAME><![CDATA[</NVPAIR>]]></NAME><VALUE>]]&gt;</VALUE></NVPAIR></SC_EVENT_REG></SC_CALLBACK_REG>",
        "<SC_CALLBACK_REG PORT=\"1\" REG_TYPE=\"ADD_CLIENT\"><SC_EVENT_REG CLASS=\"x\" SUBCLASS=\"y\"/></SC_CALLBACK_REG>",
    };

    [Theory]
    [MemberData(nameof(Documents))]
    public void Complete_AtCloseOfRoot_WithoutEof(string xml)
    {
        var bytes = Samples.Utf8(xml);
        var framer = new DocumentFramer();

        var status = framer.Advance(new ReadOnlySequence<byte>(bytes), out var length, out var error);

        Assert.True(status == FrameStatus.Complete, error.Message);
        Assert.Equal(bytes.Length, length);
    }

    [Theory]
    [MemberData(nameof(Documents))]
    public void OneByteAtATime_GivesTheSameResultAsWhole(string xml)
    {
        var bytes = Samples.Utf8(xml);
        var framer = new DocumentFramer();
        for (var end = 1; end <= bytes.Length; end++)
        {
            var status = framer.Advance(new ReadOnlySequence<byte>(bytes, 0, end), out var length, out var error);
            if (end < bytes.Length)
            {
                Assert.True(status == FrameStatus.Incomplete, $"{status} at {end}: {error.Message}");
            }
            else
            {
                Assert.Equal(FrameStatus.Complete, status);
                Assert.Equal(bytes.Length, length);
            }
        }
    }

    [Theory]
    [MemberData(nameof(Documents))]
    public void SplitAtEveryPosition_AcrossSegments_ParsesTheSame(string xml)
    {
        var bytes = Samples.Utf8(xml);
        var whole = Parse.Any(bytes);
        for (var split = 1; split < bytes.Length; split++)
        {
            var sequence = Segments.Of(bytes[..split], bytes[split..]);
            var framer = new DocumentFramer();

            var status = framer.Advance(sequence, out var length, out _);
            var parsed = CrnpParser.Parse(sequence.Slice(0, length));

            Assert.Equal(FrameStatus.Complete, status);
            Assert.Equal(whole.IsSuccess, parsed.IsSuccess);
            Assert.Equal(whole.Value, parsed.Value);
        }
    }

    [Theory]
    [InlineData("<!DOCTYPE x [")]
    [InlineData("<!DOCTYPE x><!DOCTYPE x>")]
    [InlineData("<?xml version=\"1.0\"?><!DOCTYPE x [<!ENTITY a \"b\">]>")]
    [InlineData("<SC_CALLBACK_REG><!ENTITY a \"b\">")]
    public void MarkupDeclaration_IsInvalid_AsSoonAsSeen(string prefix)
    {
        var framer = new DocumentFramer();

        var status = framer.Advance(new(Samples.Utf8(prefix)), out _, out var error);

        Assert.Equal(FrameStatus.Error, status);
        Assert.Equal(StatusCode.Invalid, error.Status);
    }

    [Theory]
    [InlineData("hello<SC_CALLBACK_REG/>")]
    [InlineData("</SC_CALLBACK_REG>")]
    [InlineData("<1abc/>")]
    [InlineData("< SC_CALLBACK_REG/>")]
    [InlineData("<a <b>")]
    [InlineData("<!-x-->")]
    [InlineData("<![CDATA[x]]><a/>")]
    [InlineData("<a/>trailing")]
    [InlineData("<a></a><b/>")]
    [InlineData("<SC_CALLBACK_REG><oops></SC_CALLBACK_REG>")]
    [InlineData("<a><b></a>")]
    [InlineData("<a></ a>")]
    public void Garbage_IsMalformed(string xml)
    {
        var framer = new DocumentFramer();

        var status = framer.Advance(new(Samples.Utf8(xml)), out _, out var error);

        Assert.Equal(FrameStatus.Error, status);
        Assert.Equal(StatusCode.Malformed, error.Status);
    }

    [Fact]
    public void EndTag_WithTrailingSpace_ClosesItsElement()
    {
        var framer = new DocumentFramer();

        var status = framer.Advance(new(Samples.Utf8("<a><b></b ></a\n>")), out var length, out _);

        Assert.Equal(FrameStatus.Complete, status);
        Assert.Equal(16, length);
    }

    [Fact]
    public void ElementName_OverlyLong_IsMalformed()
    {
        var framer = new DocumentFramer();

        var status = framer.Advance(new(Samples.Utf8("<" + new string('n', 200))), out _, out var error);

        Assert.Equal(FrameStatus.Error, status);
        Assert.Contains("name", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void TrailingWhitespace_IsAllowed()
    {
        var framer = new DocumentFramer();

        var status = framer.Advance(new(Samples.Utf8("<a/>\r\n")), out var length, out _);

        Assert.Equal(FrameStatus.Complete, status);
        Assert.Equal(4, length);
    }

    [Fact]
    public void RandomBytes_AlwaysEndInAStatus_NeverAnException()
    {
        var random = new Random(20261122);
        for (var run = 0; run < 2000; run++)
        {
            var bytes = new byte[random.Next(1, 300)];
            random.NextBytes(bytes);
            if (run % 2 == 0)
            {
                bytes[0] = (byte)'<';
            }
            var framer = new DocumentFramer();

            var status = framer.Advance(new(bytes), out var length, out var error);

            if (status == FrameStatus.Complete)
            {
                var parsed = Parse.Any(bytes[..(int)length]);
                Assert.True(parsed.IsSuccess || (parsed.Error.Status != StatusCode.Ok && parsed.Error.Message.Length > 0));
            }
            else if (status == FrameStatus.Error)
            {
                Assert.True(error.Status is StatusCode.Malformed or StatusCode.Invalid, error.ToString());
            }
        }
    }
}
