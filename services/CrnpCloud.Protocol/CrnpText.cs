using System.Xml;

namespace CrnpCloud.Protocol;

/// <summary>What text XML 1.0 can carry at all (no NUL, no lone surrogates, no most C0 controls).</summary>
public static class CrnpText
{
    public static bool IsValid(string text)
    {
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (XmlConvert.IsXmlChar(c))
            {
                continue;
            }
            if (i + 1 < text.Length && XmlConvert.IsXmlSurrogatePair(text[i + 1], c))
            {
                i++;
                continue;
            }
            return false;
        }
        return true;
    }
}
