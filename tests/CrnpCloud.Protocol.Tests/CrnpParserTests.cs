namespace CrnpCloud.Protocol.Tests;

public sealed class CrnpParserTests
{
    private const string Ok = "VERSION=\"1.0\" PORT=\"9000\" REG_TYPE=\"ADD_CLIENT\"";

    [Fact]
    public void SpecExample_ParsesToAddClientWithTwoTypes()
    {
        var result = Parse.Registration(Samples.SpecExample);

        Assert.True(result.IsSuccess, result.ToString());
        var expected = new CallbackRegistration(
            RegistrationType.AddClient,
            18888,
            new EventRegistration("EC_Cluster", "ESC_cluster_membership"),
            new EventRegistration("EC_Cluster", "ESC_cluster_rg_state", new NameValue("rg_name", "rg1")));
        Assert.Equal(expected, result.Value);
    }

    [Theory]
    [InlineData("ADD_CLIENT", RegistrationType.AddClient)]
    [InlineData("ADD_EVENTS", RegistrationType.AddEvents)]
    [InlineData("REMOVE_EVENTS", RegistrationType.RemoveEvents)]
    [InlineData("REMOVE_CLIENT", RegistrationType.RemoveClient)]
    public void RegType_EachForm_IsRecognised(string wire, RegistrationType expected)
    {
        var result = Parse.Registration(Samples.Registration($"PORT=\"1\" REG_TYPE=\"{wire}\"", "<SC_EVENT_REG CLASS=\"EC_Cluster\"/>"));

        Assert.True(result.IsSuccess, result.ToString());
        Assert.Equal(expected, result.Value.Type);
        Assert.Null(result.Value.Events[0].Subclass);
    }

    [Fact]
    public void Version_Absent_MeansFixedOnePointZero()
    {
        Assert.Equal(StatusCode.Ok, Parse.RegistrationStatus(Samples.Registration("PORT=\"1\" REG_TYPE=\"ADD_CLIENT\"")));
    }

    [Theory]
    [InlineData("1.0", StatusCode.Ok)]
    [InlineData("1.00", StatusCode.Ok)]
    [InlineData("1", StatusCode.Ok)]
    [InlineData("2.0", StatusCode.VersionTooHigh)]
    [InlineData("1.1", StatusCode.VersionTooHigh)]
    [InlineData("10", StatusCode.VersionTooHigh)]
    [InlineData("0.9", StatusCode.VersionTooLow)]
    [InlineData("0", StatusCode.VersionTooLow)]
    [InlineData("one", StatusCode.Invalid)]
    [InlineData("", StatusCode.Invalid)]
    [InlineData("-1.0", StatusCode.Invalid)]
    [InlineData("1e3", StatusCode.Invalid)]
    public void Version_ComparedNumerically(string version, StatusCode expected)
    {
        var xml = Samples.Registration($"VERSION=\"{version}\" PORT=\"1\" REG_TYPE=\"ADD_CLIENT\"");

        Assert.Equal(expected, Parse.RegistrationStatus(xml));
    }

    [Fact]
    public void Version_TooHigh_WinsOverOtherProblems()
    {
        // A newer client may use a format we do not know: say "version", not "invalid".
        var xml = Samples.Registration("VERSION=\"2.0\" PORT=\"0\" REG_TYPE=\"NEW_THING\"");

        Assert.Equal(StatusCode.VersionTooHigh, Parse.RegistrationStatus(xml));
    }

    [Theory]
    [InlineData("1", StatusCode.Ok)]
    [InlineData("65535", StatusCode.Ok)]
    [InlineData(" 8080 ", StatusCode.Ok)]
    [InlineData("0", StatusCode.Invalid)]
    [InlineData("65536", StatusCode.Invalid)]
    [InlineData("-1", StatusCode.Invalid)]
    [InlineData("80a", StatusCode.Invalid)]
    [InlineData("", StatusCode.Invalid)]
    [InlineData("99999999999", StatusCode.Invalid)]
    [InlineData("٣", StatusCode.Invalid)]
    public void Port_MustBeDecimalInRange(string port, StatusCode expected)
    {
        var xml = Samples.Registration($"PORT=\"{port}\" REG_TYPE=\"ADD_CLIENT\"");

        Assert.Equal(expected, Parse.RegistrationStatus(xml));
    }

    [Theory]
    [InlineData("REG_TYPE=\"ADD_CLIENT\"", "PORT")]
    [InlineData("PORT=\"1\"", "REG_TYPE")]
    [InlineData("PORT=\"1\" REG_TYPE=\"add_client\"", "REG_TYPE")]
    [InlineData("PORT=\"1\" REG_TYPE=\"ADD_CLIENT\" COLOR=\"red\"", "COLOR")]
    public void Attributes_MissingBadOrUnknown_AreInvalid(string attributes, string mentioned)
    {
        var result = Parse.Registration(Samples.Registration(attributes));

        Assert.Equal(StatusCode.Invalid, result.Error.Status);
        Assert.Contains(mentioned, result.Error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("<SC_EVENT_REG/>")]
    [InlineData("<SC_EVENT_REG CLASS=\"EC_Cluster\" VENDOR=\"x\"/>")]
    [InlineData("<OTHER/>")]
    [InlineData("text")]
    [InlineData("<![CDATA[text]]>")]
    [InlineData("<SC_EVENT_REG CLASS=\"c\"><NVPAIR><NAME>n</NAME></NVPAIR></SC_EVENT_REG>")]
    [InlineData("<SC_EVENT_REG CLASS=\"c\"><NVPAIR><VALUE>v</VALUE></NVPAIR></SC_EVENT_REG>")]
    [InlineData("<SC_EVENT_REG CLASS=\"c\"><NVPAIR><VALUE>v</VALUE><NAME>n</NAME></NVPAIR></SC_EVENT_REG>")]
    [InlineData("<SC_EVENT_REG CLASS=\"c\"><NVPAIR><NAME>n</NAME><NAME>m</NAME><VALUE>v</VALUE></NVPAIR></SC_EVENT_REG>")]
    [InlineData("<SC_EVENT_REG CLASS=\"c\"><NVPAIR><NAME></NAME><VALUE>v</VALUE></NVPAIR></SC_EVENT_REG>")]
    [InlineData("<SC_EVENT_REG CLASS=\"c\"><NVPAIR><NAME>n<b/></NAME><VALUE>v</VALUE></NVPAIR></SC_EVENT_REG>")]
    [InlineData("<SC_EVENT_REG CLASS=\"c\"><NVPAIR x=\"1\"><NAME>n</NAME><VALUE>v</VALUE></NVPAIR></SC_EVENT_REG>")]
    [InlineData("<x:SC_EVENT_REG xmlns:x=\"urn:x\" CLASS=\"c\"/>")]
    public void Body_BreakingTheDtd_IsInvalid(string body)
    {
        var xml = Samples.Registration(Ok, body);

        Assert.Equal(StatusCode.Invalid, Parse.RegistrationStatus(xml));
    }

    [Theory]
    [InlineData("ADD_EVENTS")]
    [InlineData("REMOVE_EVENTS")]
    public void EventsForms_WithoutAnyType_AreInvalid(string regType)
    {
        var xml = Samples.Registration($"PORT=\"1\" REG_TYPE=\"{regType}\"");

        Assert.Equal(StatusCode.Invalid, Parse.RegistrationStatus(xml));
    }

    [Fact]
    public void UnknownRoot_IsInvalid()
    {
        var result = Parse.Registration("<SC_HELLO VERSION=\"1.0\"/>");

        Assert.Equal(StatusCode.Invalid, result.Error.Status);
        Assert.Contains("SC_HELLO", result.Error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void WrongKnownRoot_ForTypedParse_IsInvalid()
    {
        var reply = CrnpWriter.ToBytes(new CrnpReply(StatusCode.Ok, "fine"));

        var result = CrnpParser.ParseRegistration(new(reply));

        Assert.Equal(StatusCode.Invalid, result.Error.Status);
    }

    [Theory]
    [InlineData("<SC_CALLBACK_REG PORT=\"1\" REG_TYPE=\"ADD_CLIENT\">")]
    [InlineData("<SC_CALLBACK_REG PORT=\"1\" REG_TYPE=\"ADD_CLIENT\"><SC_EVENT_REG CLASS=\"c\"></SC_CALLBACK_REG>")]
    [InlineData("<SC_CALLBACK_REG PORT=\"1 REG_TYPE=\"ADD_CLIENT\"/>")]
    [InlineData("<SC_CALLBACK_REG PORT=\"1\" PORT=\"2\" REG_TYPE=\"ADD_CLIENT\"/>")]
    [InlineData("<SC_CALLBACK_REG PORT=\"1\" REG_TYPE=\"ADD_CLIENT\"/><SC_CALLBACK_REG PORT=\"1\" REG_TYPE=\"ADD_CLIENT\"/>")]
    [InlineData("<SC_CALLBACK_REG PORT=\"1\" REG_TYPE=\"ADD_CLIENT\">&undefined;</SC_CALLBACK_REG>")]
    [InlineData("")]
    [InlineData("garbage")]
    [InlineData("<SC_CALLBACK_REG PORT=\"1\" REG_TYPE=\"ADD_CLIENT\">\u0001</SC_CALLBACK_REG>")]
    public void NotWellFormed_IsMalformed(string xml)
    {
        Assert.Equal(StatusCode.Malformed, Parse.RegistrationStatus(xml));
    }

    // Found by FuzzTests (seed 51042119): .NET's XmlReader throws ArgumentOutOfRangeException, not
    // XmlException, on a non-ASCII character in the XML declaration's version before an encoding.
    [Fact]
    public void XmlDeclarationTheReaderChokesOn_IsMalformed()
    {
        Assert.Equal(StatusCode.Malformed, Parse.RegistrationStatus("<?xml version=\"1.0\u00e9\" encoding=\"UTF-8\"?>"));
    }

    [Fact]
    public void InvalidUtf8_IsMalformed()
    {
        byte[] bytes = [.. Samples.Utf8("<SC_CALLBACK_REG PORT=\"1\" REG_TYPE=\"ADD_CLIENT\"><SC_EVENT_REG CLASS=\""), 0xC3, 0x28, .. Samples.Utf8("\"/></SC_CALLBACK_REG>")];

        var result = Parse.Any(bytes);

        Assert.Equal(StatusCode.Malformed, result.Error.Status);
        Assert.Contains("UTF-8", result.Error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void NonAsciiText_InUtf8_IsKept()
    {
        var xml = Samples.Registration(Ok, "<SC_EVENT_REG CLASS=\"EC_Clüster\"><NVPAIR><NAME>名前</NAME><VALUE>😀</VALUE></NVPAIR></SC_EVENT_REG>");

        var result = Parse.Registration(xml);

        Assert.True(result.IsSuccess, result.ToString());
        Assert.Equal("EC_Clüster", result.Value.Events[0].Class);
        Assert.Equal(new NameValue("名前", "😀"), result.Value.Events[0].NameValues[0]);
    }

    [Theory]
    [InlineData(Samples.Xxe)]
    [InlineData(Samples.BillionLaughs)]
    public void Doctype_WithInternalSubset_IsInvalid_WithoutResolvingOrExpanding(string xml)
    {
        var result = Parse.Registration(xml);

        Assert.Equal(StatusCode.Invalid, result.Error.Status);
        Assert.Contains("DOCTYPE", result.Error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void TextForms_PlainCDataAndEntities_AllRead()
    {
        var xml = Samples.Registration(Ok, """
            <SC_EVENT_REG CLASS="EC_&amp;Cluster">
              <NVPAIR>
                <NAME><![CDATA[rg_name]]></NAME>
                <VALUE>a&lt;b&#65;<![CDATA[<c>]]>d</VALUE>
                <VALUE>  spaced  </VALUE>
                <VALUE/>
              </NVPAIR>
            </SC_EVENT_REG>
            """);

        var result = Parse.Registration(xml);

        Assert.True(result.IsSuccess, result.ToString());
        var type = result.Value.Events[0];
        Assert.Equal("EC_&Cluster", type.Class);
        Assert.Equal(new NameValue("rg_name", "a<bA<c>d", "  spaced  ", ""), type.NameValues[0]);
    }

    [Fact]
    public void Reply_OldSpellings_AreAccepted()
    {
        foreach (var (wire, code) in new[] { ("LOW_RESOURCES", StatusCode.LowResource), ("INVALID_XML", StatusCode.Invalid) })
        {
            var xml = $"<SC_REPLY VERSION=\"1.0\" STATUS_CODE=\"{wire}\"><SC_STATUS_MSG>m</SC_STATUS_MSG></SC_REPLY>";

            var result = CrnpParser.ParseReply(new(Samples.Utf8(xml)));

            Assert.True(result.IsSuccess, result.ToString());
            Assert.Equal(code, result.Value.Status);
        }
    }

    [Theory]
    [InlineData("<SC_REPLY STATUS_CODE=\"NOPE\"><SC_STATUS_MSG>m</SC_STATUS_MSG></SC_REPLY>")]
    [InlineData("<SC_REPLY STATUS_CODE=\"OK\"/>")]
    [InlineData("<SC_REPLY><SC_STATUS_MSG>m</SC_STATUS_MSG></SC_REPLY>")]
    [InlineData("<SC_REPLY STATUS_CODE=\"OK\"><SC_STATUS_MSG>m</SC_STATUS_MSG><SC_STATUS_MSG>n</SC_STATUS_MSG></SC_REPLY>")]
    [InlineData("<SC_EVENT CLASS=\"c\" VENDOR=\"v\" PUBLISHER=\"p\"/>")]
    [InlineData("<SC_EVENT CLASS=\"c\" SUBCLASS=\"s\" VENDOR=\"v\" PUBLISHER=\"p\"><SC_EVENT_REG CLASS=\"c\"/></SC_EVENT>")]
    public void ReplyAndEvent_BreakingTheDtd_AreInvalid(string xml)
    {
        Assert.Equal(StatusCode.Invalid, Parse.Any(Samples.Utf8(xml)).Error.Status);
    }
}
