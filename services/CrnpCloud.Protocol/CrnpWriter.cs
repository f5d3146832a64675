using System.Buffers;
using System.Text;

namespace CrnpCloud.Protocol;

/// <summary>
/// Writes CRNP documents as UTF-8. Names, values and status text go in CDATA (as the original server
/// does); a <c>]]&gt;</c> or a carriage return inside them is split out so the text round-trips
/// exactly. Text that XML cannot carry at all is refused with <see cref="ArgumentException"/>.
/// </summary>
public static class CrnpWriter
{
    private static ReadOnlySpan<byte> Declaration => "<?xml version=\"1.0\" encoding=\"UTF-8\"?>"u8;

    public static byte[] ToBytes(CrnpMessage message)
    {
        var buffer = new ArrayBufferWriter<byte>(512);
        Write(message, buffer);
        return buffer.WrittenSpan.ToArray();
    }

    public static void Write(CrnpMessage message, IBufferWriter<byte> output)
    {
        ArgumentNullException.ThrowIfNull(message);
        var xml = new Utf8Xml(output);
        xml.Raw(Declaration);
        switch (message)
        {
            case CallbackRegistration registration:
                WriteRegistration(xml, registration);
                break;
            case CrnpReply reply:
                xml.Raw("<SC_REPLY VERSION=\"1.0\" STATUS_CODE=\""u8);
                xml.Ascii(reply.Status.ToWire());
                xml.Raw("\"><SC_STATUS_MSG>"u8);
                xml.CData(reply.Message);
                xml.Raw("</SC_STATUS_MSG></SC_REPLY>"u8);
                break;
            case CrnpEvent evt:
                xml.Raw("<SC_EVENT VERSION=\"1.0\" CLASS=\""u8);
                xml.Attribute(evt.Class);
                xml.Raw("\" SUBCLASS=\""u8);
                xml.Attribute(evt.Subclass);
                xml.Raw("\" VENDOR=\""u8);
                xml.Attribute(evt.Vendor);
                xml.Raw("\" PUBLISHER=\""u8);
                xml.Attribute(evt.Publisher);
                xml.Raw("\">"u8);
                WriteNameValues(xml, evt.NameValues);
                xml.Raw("</SC_EVENT>"u8);
                break;
            default:
                throw new ArgumentException($"unknown message type {message.GetType().Name}", nameof(message));
        }
    }

    private static void WriteRegistration(Utf8Xml xml, CallbackRegistration registration)
    {
        if (registration.Port is < 1 or > 65535)
        {
            throw new ArgumentException($"port {registration.Port} is outside 1..65535", nameof(registration));
        }
        if (registration.Events.Count == 0 && registration.Type is RegistrationType.AddEvents or RegistrationType.RemoveEvents)
        {
            // The parser refuses it as INVALID (PROTOCOL.md section 2); the writer never produces it.
            throw new ArgumentException($"{registration.Type.ToWire()} needs at least one event type", nameof(registration));
        }

        xml.Raw("<SC_CALLBACK_REG VERSION=\"1.0\" PORT=\""u8);
        xml.Ascii(registration.Port.ToString(System.Globalization.CultureInfo.InvariantCulture));
        xml.Raw("\" REG_TYPE=\""u8);
        xml.Ascii(registration.Type.ToWire());
        xml.Raw("\">"u8);
        foreach (var type in registration.Events)
        {
            xml.Raw("<SC_EVENT_REG CLASS=\""u8);
            xml.Attribute(type.Class);
            xml.Raw("\""u8);
            if (type.Subclass is not null)
            {
                xml.Raw(" SUBCLASS=\""u8);
                xml.Attribute(type.Subclass);
                xml.Raw("\""u8);
            }
            xml.Raw(">"u8);
            WriteNameValues(xml, type.NameValues);
            xml.Raw("</SC_EVENT_REG>"u8);
        }
        xml.Raw("</SC_CALLBACK_REG>"u8);
    }

    private static void WriteNameValues(Utf8Xml xml, EquatableList<NameValue> pairs)
    {
        foreach (var pair in pairs)
        {
            if (pair.Values.Count == 0)
            {
                throw new ArgumentException($"nvpair '{pair.Name}' has no value", nameof(pairs));
            }
            xml.Raw("<NVPAIR><NAME>"u8);
            xml.CData(pair.Name);
            xml.Raw("</NAME>"u8);
            foreach (var value in pair.Values)
            {
                xml.Raw("<VALUE>"u8);
                xml.CData(value);
                xml.Raw("</VALUE>"u8);
            }
            xml.Raw("</NVPAIR>"u8);
        }
    }

    private readonly struct Utf8Xml(IBufferWriter<byte> output)
    {
        public void Raw(ReadOnlySpan<byte> utf8) => output.Write(utf8);

        public void Ascii(string text)
        {
            var span = output.GetSpan(text.Length);
            var written = Encoding.ASCII.GetBytes(text, span);
            output.Advance(written);
        }

        public void Attribute(string text)
        {
            Check(text);
            var start = 0;
            for (var i = 0; i < text.Length; i++)
            {
                var escape = text[i] switch
                {
                    '&' => "&amp;",
                    '<' => "&lt;",
                    '>' => "&gt;",
                    '"' => "&quot;",
                    '\t' => "&#9;",
                    '\n' => "&#10;",
                    '\r' => "&#13;",
                    _ => null,
                };
                if (escape is not null)
                {
                    Utf8(text.AsSpan(start, i - start));
                    Ascii(escape);
                    start = i + 1;
                }
            }
            Utf8(text.AsSpan(start));
        }

        // CDATA cannot hold "]]>" and loses a bare CR to end-of-line normalisation, so both are
        // written outside the section: "]]" + ">" is split across two sections, CR as a char ref.
        public void CData(string text)
        {
            Check(text);
            Raw("<![CDATA["u8);
            var start = 0;
            for (var i = 0; i < text.Length; i++)
            {
                if (text[i] == '\r')
                {
                    Utf8(text.AsSpan(start, i - start));
                    Raw("]]>&#13;<![CDATA["u8);
                    start = i + 1;
                }
                else if (text[i] == '>' && i >= 2 && text[i - 1] == ']' && text[i - 2] == ']')
                {
                    Utf8(text.AsSpan(start, i - start));
                    Raw("]]><![CDATA["u8);
                    start = i;
                }
            }
            Utf8(text.AsSpan(start));
            Raw("]]>"u8);
        }

        private void Utf8(ReadOnlySpan<char> text)
        {
            if (text.IsEmpty)
            {
                return;
            }
            var span = output.GetSpan(Encoding.UTF8.GetMaxByteCount(text.Length));
            output.Advance(Encoding.UTF8.GetBytes(text, span));
        }

        private static void Check(string text)
        {
            if (!CrnpText.IsValid(text))
            {
                throw new ArgumentException("text contains characters XML 1.0 cannot carry", nameof(text));
            }
        }
    }
}
