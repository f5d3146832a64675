using System.Text;

namespace CrnpCloud.Protocol.Tests;

public sealed class CrnpWriterTests
{
    public static TheoryData<CrnpMessage> Messages()
    {
        var data = new TheoryData<CrnpMessage>
        {
            new CallbackRegistration(RegistrationType.AddClient, 18888,
                new EventRegistration("EC_Cluster", "ESC_cluster_membership"),
                new EventRegistration("EC_Cluster", "ESC_cluster_rg_state", new NameValue("rg_name", "rg1"))),
            new CallbackRegistration(RegistrationType.AddEvents, 1, new EventRegistration("EC_Cluster")),
            new CallbackRegistration(RegistrationType.RemoveEvents, 65535, new EventRegistration("EC_Cluster", "ESC_cluster_r_state", new NameValue("r_name", "r1"))),
            new CallbackRegistration(RegistrationType.RemoveClient, 4000),
            new CrnpEvent("EC_Cluster", "ESC_cluster_membership", "SUNW", "rgm",
                new NameValue("node_list", "node1", "node2", "node3"),
                new NameValue("state_list", "3", "-1", "7")),
            new CrnpEvent("EC_Cluster", "ESC_cluster_rg_state", "ORCL", "rgm", new NameValue("rg_name", "rg1"), new NameValue("ev_internal", "")),
            new CrnpEvent("C & <D>", "\"quoted\" 'single'", "tab\there", "line\nbreak\r\nCR", new NameValue("a]]>b", "]]>", "]]]>>", "x\ry\r\n", "<![CDATA[nested]]>")),
        };
        foreach (var code in Enum.GetValues<StatusCode>())
        {
            data.Add(new CrnpReply(code, $"message for {code} ]]> with <markup> & ünïcode"));
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Messages))]
    public void EveryMessage_RoundTripsExactly(CrnpMessage message)
    {
        var bytes = CrnpWriter.ToBytes(message);

        var result = Parse.Any(bytes);

        Assert.True(result.IsSuccess, result.ToString() + "\n" + Encoding.UTF8.GetString(bytes));
        Assert.Equal(message, result.Value);
    }

    [Fact]
    public void Reply_UsesServerSpellingsAndCData()
    {
        var text = Encoding.UTF8.GetString(CrnpWriter.ToBytes(new CrnpReply(StatusCode.LowResource, "too many clients")));

        Assert.Equal(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><SC_REPLY VERSION=\"1.0\" STATUS_CODE=\"LOW_RESOURCE\"><SC_STATUS_MSG><![CDATA[too many clients]]></SC_STATUS_MSG></SC_REPLY>",
            text);
    }

    [Fact]
    public void Event_NameAndValuesAreInCData()
    {
        var text = Encoding.UTF8.GetString(CrnpWriter.ToBytes(new CrnpEvent("EC_Cluster", "ESC_cluster_rg_state", "SUNW", "rgm", new NameValue("rg_name", "rg1"))));

        Assert.Contains("<NVPAIR><NAME><![CDATA[rg_name]]></NAME><VALUE><![CDATA[rg1]]></VALUE></NVPAIR>", text, StringComparison.Ordinal);
        Assert.Contains("<SC_EVENT VERSION=\"1.0\" CLASS=\"EC_Cluster\" SUBCLASS=\"ESC_cluster_rg_state\" VENDOR=\"SUNW\" PUBLISHER=\"rgm\">", text, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("nul\0")]
    [InlineData("bell\u0007")]
    [InlineData("\uFFFE")]
    public void Text_XmlCannotCarry_IsRefused(string bad)
    {
        Assert.False(CrnpText.IsValid(bad));
        Assert.Throws<ArgumentException>(() => CrnpWriter.ToBytes(new CrnpReply(StatusCode.Ok, bad)));
        Assert.Throws<ArgumentException>(() => CrnpWriter.ToBytes(new CrnpEvent(bad, "s", "v", "p")));
    }

    [Fact]
    public void Text_LoneSurrogate_IsRefused()
    {
        var lone = "lone" + (char)0xD800 + "surrogate";

        Assert.False(CrnpText.IsValid(lone));
        Assert.True(CrnpText.IsValid("pair 😀"));
        Assert.Throws<ArgumentException>(() => CrnpWriter.ToBytes(new CrnpEvent("c", "s", "v", "p", new NameValue("n", lone))));
    }

    [Fact]
    public void Registration_PortOutOfRange_IsRefused()
    {
        Assert.Throws<ArgumentException>(() => CrnpWriter.ToBytes(new CallbackRegistration(RegistrationType.AddClient, 0)));

        // Found by the fuzz run: the writer wrote ADD_EVENTS / REMOVE_EVENTS without types, which the parser refuses.
        Assert.Throws<ArgumentException>(() => CrnpWriter.ToBytes(new CallbackRegistration(RegistrationType.AddEvents, 1)));
        Assert.Throws<ArgumentException>(() => CrnpWriter.ToBytes(new CallbackRegistration(RegistrationType.RemoveEvents, 1)));
    }
}
