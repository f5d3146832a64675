using System.Text;

namespace CrnpCloud.Protocol.Tests;

internal static class Samples
{
    /// <summary>The exact bytes an existing Java client sends (the example of the CRNP specification).</summary>
    public const string SpecExample =
        "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"no\"?><SC_CALLBACK_REG PORT=\"18888\" REG_TYPE=\"ADD_CLIENT\" VERSION=\"1.0\"><SC_EVENT_REG CLASS=\"EC_Cluster\" SUBCLASS=\"ESC_cluster_membership\"/><SC_EVENT_REG CLASS=\"EC_Cluster\" SUBCLASS=\"ESC_cluster_rg_state\"><NVPAIR><NAME>rg_name</NAME><VALUE>rg1</VALUE></NVPAIR></SC_EVENT_REG></SC_CALLBACK_REG>";

    public const string BillionLaughs = """
        <?xml version="1.0"?>
        <!DOCTYPE lolz [
         <!ENTITY lol "lol">
         <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
         <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
         <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
         <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
         <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
         <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
         <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
         <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
        ]>
        <SC_CALLBACK_REG VERSION="1.0" PORT="1" REG_TYPE="ADD_CLIENT"><SC_EVENT_REG CLASS="&lol9;"/></SC_CALLBACK_REG>
        """;

    public const string Xxe = """
        <?xml version="1.0"?>
        <!DOCTYPE SC_CALLBACK_REG [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
        <SC_CALLBACK_REG VERSION="1.0" PORT="1" REG_TYPE="ADD_CLIENT"><SC_EVENT_REG CLASS="&xxe;"/></SC_CALLBACK_REG>
        """;

    public static byte[] Utf8(string text) => Encoding.UTF8.GetBytes(text);

    public static string Registration(string attributes, string body = "") =>
        $"<SC_CALLBACK_REG {attributes}>{body}</SC_CALLBACK_REG>";
}
