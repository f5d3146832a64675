using System.Text;
using System.Xml;

namespace CrnpCloud.Protocol;

/// <summary>
/// Reads the prolog of a complete document (BOM, XML declaration, comments, processing instructions)
/// up to the root and checks its DOCTYPE, if any, before an <see cref="XmlReader"/> sees it. Accepted:
/// one <c>&lt;!DOCTYPE Name&gt;</c>, <c>&lt;!DOCTYPE Name SYSTEM "uri"&gt;</c> or
/// <c>&lt;!DOCTYPE Name PUBLIC "id" "uri"&gt;</c>. Refused as INVALID: an internal subset, any other
/// markup declaration, a second DOCTYPE, a DOCTYPE that breaks that grammar. The URI is never used.
/// </summary>
internal static class DoctypeDeclaration
{
    private static ReadOnlySpan<byte> Bom => [0xEF, 0xBB, 0xBF];

    /// <summary>The DOCTYPE's name, or null when the document has none; a refused DOCTYPE throws.</summary>
    public static string? RootName(ReadOnlySpan<byte> document)
    {
        var rest = document.StartsWith(Bom) ? document[Bom.Length..] : document;
        string? name = null;
        while (true)
        {
            rest = rest.TrimStart(" \t\r\n"u8);
            if (rest.StartsWith("<?"u8))
            {
                rest = After(rest, "?>"u8);
            }
            else if (rest.StartsWith("<!--"u8))
            {
                rest = After(rest, "-->"u8);
            }
            else if (rest.StartsWith("<!DOCTYPE"u8) && name is null)
            {
                rest = Doctype(rest["<!DOCTYPE"u8.Length..], out name);
            }
            else if (rest.Length > 2 && rest[0] == '<' && rest[1] == '!' && char.IsAsciiLetter((char)rest[2]))
            {
                throw ProtocolViolation.Invalid("markup declarations are not allowed (only one DOCTYPE, before the root)");
            }
            else
            {
                return name; // the root, or something the XML reader will refuse
            }
        }
    }

    private static ReadOnlySpan<byte> After(ReadOnlySpan<byte> rest, ReadOnlySpan<byte> end)
    {
        var at = rest.IndexOf(end);
        return at < 0 ? [] : rest[(at + end.Length)..];
    }

    // doctypedecl ::= '<!DOCTYPE' S Name (S ExternalID)? S? '>'   (XML 1.0 production 28, no intSubset)
    private static ReadOnlySpan<byte> Doctype(ReadOnlySpan<byte> rest, out string name)
    {
        rest = Space(rest, required: true);
        var length = rest.IndexOfAny(" \t\r\n>["u8);
        if (length <= 0)
        {
            throw Refused("a root element name must follow the keyword");
        }
        name = Encoding.UTF8.GetString(rest[..length]);
        try
        {
            XmlConvert.VerifyName(name);
        }
        catch (XmlException)
        {
            throw Refused($"'{name}' is not an XML name");
        }
        rest = Space(rest[length..], required: false);

        if (rest.StartsWith("SYSTEM"u8))
        {
            rest = Literal(Space(rest[6..], required: true), publicId: false);
        }
        else if (rest.StartsWith("PUBLIC"u8))
        {
            rest = Literal(Space(rest[6..], required: true), publicId: true);
            rest = Literal(Space(rest, required: true), publicId: false);
        }

        rest = Space(rest, required: false);
        if (rest.StartsWith("["u8))
        {
            throw ProtocolViolation.Invalid("a DOCTYPE with an internal subset is not allowed");
        }
        if (!rest.StartsWith(">"u8))
        {
            throw Refused("expected '>' after the name and external id");
        }
        return rest[1..];
    }

    private static ReadOnlySpan<byte> Space(ReadOnlySpan<byte> rest, bool required)
    {
        var trimmed = rest.TrimStart(" \t\r\n"u8);
        if (required && trimmed.Length == rest.Length)
        {
            throw Refused("a space is missing");
        }
        return trimmed;
    }

    private static ReadOnlySpan<byte> Literal(ReadOnlySpan<byte> rest, bool publicId)
    {
        if (rest.IsEmpty || rest[0] is not ((byte)'"' or (byte)'\''))
        {
            throw Refused("a quoted literal is missing");
        }
        var end = rest[1..].IndexOf(rest[0]);
        if (end < 0)
        {
            throw Refused("a literal is not closed");
        }
        if (publicId && rest.Slice(1, end).IndexOfAnyExcept(PublicIdCharacters) >= 0)
        {
            throw Refused("the public id holds a character XML does not allow there");
        }
        return rest[(end + 2)..];
    }

    // PubidChar ::= #x20 | #xD | #xA | [a-zA-Z0-9] | [-'()+,./:=?;!*#@$_%]   (XML 1.0 production 13)
    private static readonly System.Buffers.SearchValues<byte> PublicIdCharacters = System.Buffers.SearchValues.Create(
        " \r\nabcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-'()+,./:=?;!*#@$_%"u8);

    private static ProtocolViolation Refused(string why) => ProtocolViolation.Invalid("malformed DOCTYPE: " + why);
}
