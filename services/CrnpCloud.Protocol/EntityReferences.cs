namespace CrnpCloud.Protocol;

/// <summary>
/// Finds a reference to an entity other than the five XML predefines (<c>&amp;lt;</c>, <c>&amp;gt;</c>,
/// <c>&amp;amp;</c>, <c>&amp;apos;</c>, <c>&amp;quot;</c>) or a character reference, outside comments,
/// CDATA sections and processing instructions. Used only to tell why a document was refused.
/// </summary>
internal static class EntityReferences
{
    public static bool HasUndeclared(ReadOnlySpan<byte> document)
    {
        var rest = document;
        while (true)
        {
            var at = rest.IndexOfAny("&<"u8);
            if (at < 0)
            {
                return false;
            }
            rest = rest[at..];
            if (rest[0] == '<')
            {
                rest = rest.StartsWith("<!--"u8) ? After(rest, "-->"u8)
                    : rest.StartsWith("<![CDATA["u8) ? After(rest, "]]>"u8)
                    : rest.StartsWith("<?"u8) ? After(rest, "?>"u8)
                    : rest[1..];
                continue;
            }
            var end = rest.IndexOf((byte)';');
            var name = end < 0 ? [] : rest[1..end];
            if (name.Length > 0 && name.IndexOfAny(" \t\r\n<&\"'"u8) < 0 && name[0] != '#' && !IsPredefined(name))
            {
                return true;
            }
            rest = rest[1..];
        }
    }

    private static bool IsPredefined(ReadOnlySpan<byte> name) =>
        name.SequenceEqual("lt"u8) || name.SequenceEqual("gt"u8) || name.SequenceEqual("amp"u8)
        || name.SequenceEqual("apos"u8) || name.SequenceEqual("quot"u8);

    private static ReadOnlySpan<byte> After(ReadOnlySpan<byte> rest, ReadOnlySpan<byte> end)
    {
        var at = rest.IndexOf(end);
        return at < 0 ? [] : rest[(at + end.Length)..];
    }
}
