using System.Text;

namespace CrnpCloud.Protocol.Tests;

/// <summary>
/// What the server writes must be valid against the CRNP DTDs (Dtd/*.dtd), not only readable by our
/// own parser: existing clients may validate. Every reply status, events with arrays, empty values,
/// non-ASCII and markup characters, and the registrations the tests accept.
/// </summary>
public sealed class DtdValidationTests
{
    private const string Awkward = "<&>\"' ]]> ]]]>> x\ry\r\n\ttab ünïcode 名前 😀 <![CDATA[nested]]> &amp; &#65;";

    public static TheoryData<StatusCode, string> Replies()
    {
        var data = new TheoryData<StatusCode, string>();
        foreach (var code in Enum.GetValues<StatusCode>())
        {
            data.Add(code, $"message for {code}");
            data.Add(code, "");
            data.Add(code, Awkward);
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Replies))]
    public void EveryReply_IsValidAgainstTheScReplyDtd(StatusCode code, string text)
    {
        var bytes = CrnpWriter.ToBytes(new CrnpReply(code, text));

        Assert.Empty(DtdValidation.Errors(bytes));
    }

    public static TheoryData<CrnpEvent> Events() =>
    [
        new CrnpEvent("EC_Cluster", "ESC_cluster_membership", "SUNW", "rgm",
            new NameValue("node_list", "node1", "node2", "node3"), new NameValue("state_list", "3", "-1", "7")),
        new CrnpEvent("EC_Cluster", "ESC_cluster_rg_state", "ORCL", "rgm",
            new NameValue("rg_name", "rg1"), new NameValue("node_list", "n1", "n2"), new NameValue("state_list", "ONLINE", "OFFLINE"), new NameValue("ev_internal", "")),
        new CrnpEvent("EC_Cluster", "ESC_cluster_r_state", "SUNW", "rgm"),
        new CrnpEvent("EC_Cluster", "ESC_cluster_r_state", "SUNW", "rgm", new NameValue("empty", "", "", "")),
        new CrnpEvent("EC_Clüster", "ESC_名前", "ベンダー", "pub😀", new NameValue("名前", "😀", "ünïcode")),
        new CrnpEvent(Awkward, Awkward, Awkward, Awkward, new NameValue(Awkward, Awkward, "", Awkward)),
    ];

    [Theory]
    [MemberData(nameof(Events))]
    public void EveryEvent_IsValidAgainstTheScEventDtd(CrnpEvent message)
    {
        var bytes = CrnpWriter.ToBytes(message);

        Assert.Empty(DtdValidation.Errors(bytes));
    }

    [Theory]
    [MemberData(nameof(CrnpWriterTests.Messages), MemberType = typeof(CrnpWriterTests))]
    public void EveryMessageTheWriterTests_IsValidAgainstItsDtd(CrnpMessage message)
    {
        var bytes = CrnpWriter.ToBytes(message);

        Assert.Empty(DtdValidation.Errors(bytes));
    }

    [Theory]
    [InlineData(Samples.SpecExample)]
    [InlineData(DoctypeTests.WithSystemId)]
    [InlineData(DoctypeTests.WithPublicId)]
    [InlineData("<SC_CALLBACK_REG PORT=\" 18888 \" REG_TYPE=\"REMOVE_CLIENT\"/>")]
    [InlineData("<SC_CALLBACK_REG PORT=\"1\" REG_TYPE=\"ADD_EVENTS\"><SC_EVENT_REG CLASS=\"EC_Cluster\"><NVPAIR><NAME>rg_name</NAME><VALUE>a&lt;b&#65;<![CDATA[<c>]]>d</VALUE><VALUE/></NVPAIR></SC_EVENT_REG></SC_CALLBACK_REG>")]
    public void AcceptedRegistrations_AreValidAgainstTheScCallbackRegDtd(string xml)
    {
        Assert.True(Parse.Registration(xml).IsSuccess);
        Assert.Empty(DtdValidation.Errors(xml));
    }

    [Theory]
    [InlineData("<SC_REPLY VERSION=\"1.0\" STATUS_CODE=\"LOW_RESOURCES\"><SC_STATUS_MSG>x</SC_STATUS_MSG></SC_REPLY>")]
    [InlineData("<SC_REPLY VERSION=\"1.0\" STATUS_CODE=\"OK\"/>")]
    [InlineData("<SC_EVENT VERSION=\"1.0\" CLASS=\"c\" VENDOR=\"v\" PUBLISHER=\"p\"/>")]
    [InlineData("<SC_EVENT VERSION=\"1.1\" CLASS=\"c\" SUBCLASS=\"s\" VENDOR=\"v\" PUBLISHER=\"p\"/>")]
    [InlineData("<SC_EVENT CLASS=\"c\" SUBCLASS=\"s\" VENDOR=\"v\" PUBLISHER=\"p\"><NVPAIR><NAME>n</NAME></NVPAIR></SC_EVENT>")]
    [InlineData("<SC_CALLBACK_REG PORT=\"1\" REG_TYPE=\"JOIN\"/>")]
    public void TheValidator_RefusesWhatTheDtdForbids(string xml)
    {
        Assert.NotEmpty(DtdValidation.Errors(xml));
    }

    [Fact]
    public void TheValidatorsResolver_ServesOnlyTheLocalDtds()
    {
        var resolver = new DtdValidation.LocalDtdResolver();

        using var local = (Stream)resolver.GetEntity(new Uri("crnp-dtd:SC_EVENT.dtd"), null, null);
        Assert.Contains("<!ELEMENT SC_EVENT", new StreamReader(local, Encoding.UTF8).ReadToEnd(), StringComparison.Ordinal);
        Assert.Throws<System.Xml.XmlException>(() => resolver.GetEntity(new Uri("file:///etc/passwd"), null, null));
        Assert.Throws<System.Xml.XmlException>(() => resolver.GetEntity(new Uri("http://example.invalid/SC_EVENT.dtd"), null, null));
    }
}
