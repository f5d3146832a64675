using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Unicode;
using System.Xml;

namespace CrnpCloud.Protocol;

/// <summary>
/// Parses one complete CRNP document and checks it against the DTDs of PROTOCOL.md section 3.
/// Not well-formed (or over a limit) is MALFORMED; well-formed but not what the DTD allows is
/// INVALID; a VERSION other than 1.0 is VERSION_TOO_HIGH/LOW. No DTD is ever processed: a DOCTYPE
/// without an internal subset is accepted (<see cref="DoctypeDeclaration"/>) and its name must be the
/// root's, but the DTD it points to is never fetched and no entity other than the five predefined
/// ones is ever expanded.
/// </summary>
public static class CrnpParser
{
    private const string CallbackRegistrationElement = "SC_CALLBACK_REG";
    private const string ReplyElement = "SC_REPLY";
    private const string EventElement = "SC_EVENT";

    private static readonly XmlReaderSettings BaseSettings = new()
    {
        // Ignore, not Parse: DoctypeDeclaration has refused every DOCTYPE with an internal subset
        // before the reader sees it, and the external one is skipped unread (no resolver either).
        DtdProcessing = DtdProcessing.Ignore,
        XmlResolver = null,
        IgnoreComments = true,
        IgnoreProcessingInstructions = true,
        IgnoreWhitespace = false,
        CheckCharacters = true,
        ConformanceLevel = ConformanceLevel.Document,
        CloseInput = false,
    };

    /// <summary>Parses any of the three documents.</summary>
    public static ParseResult<CrnpMessage> Parse(in ReadOnlySequence<byte> document, CrnpLimits? limits = null) =>
        Run<CrnpMessage>(document, limits, null);

    public static ParseResult<CrnpMessage> Parse(ReadOnlySpan<byte> document, CrnpLimits? limits = null) =>
        Parse(new ReadOnlySequence<byte>(document.ToArray()), limits);

    /// <summary>Parses an <c>SC_CALLBACK_REG</c>; any other root is INVALID.</summary>
    public static ParseResult<CallbackRegistration> ParseRegistration(in ReadOnlySequence<byte> document, CrnpLimits? limits = null) =>
        Run<CallbackRegistration>(document, limits, CallbackRegistrationElement);

    /// <summary>Parses an <c>SC_REPLY</c>; any other root is INVALID.</summary>
    public static ParseResult<CrnpReply> ParseReply(in ReadOnlySequence<byte> document, CrnpLimits? limits = null) =>
        Run<CrnpReply>(document, limits, ReplyElement);

    /// <summary>Parses an <c>SC_EVENT</c>; any other root is INVALID.</summary>
    public static ParseResult<CrnpEvent> ParseEvent(in ReadOnlySequence<byte> document, CrnpLimits? limits = null) =>
        Run<CrnpEvent>(document, limits, EventElement);

    private static ParseResult<T> Run<T>(in ReadOnlySequence<byte> document, CrnpLimits? limits, string? expectedRoot)
        where T : CrnpMessage
    {
        limits ??= CrnpLimits.Default;
        if (document.Length > limits.MaxDocumentBytes)
        {
            return ParseResult<T>.Failure(StatusCode.Malformed, $"document exceeds the limit of {limits.MaxDocumentBytes} bytes");
        }

        var length = (int)document.Length;
        string? doctypeName = null;
        var rented = ArrayPool<byte>.Shared.Rent(Math.Max(length, 1));
        try
        {
            document.CopyTo(rented);
            var bytes = rented.AsSpan(0, length);
            if (!Utf8.IsValid(bytes))
            {
                return ParseResult<T>.Failure(StatusCode.Malformed, "document is not valid UTF-8");
            }

            doctypeName = DoctypeDeclaration.RootName(bytes);
            using var stream = new MemoryStream(rented, 0, length, writable: false);
            var settings = BaseSettings.Clone();
            settings.MaxCharactersInDocument = limits.MaxDocumentBytes;
            using var reader = XmlReader.Create(stream, settings);
            var message = new Walker(reader, limits).Document(expectedRoot, doctypeName);
            return message is T typed
                ? ParseResult<T>.Success(typed)
                : ParseResult<T>.Failure(StatusCode.Invalid, $"expected <{expectedRoot}>");
        }
        catch (ProtocolViolation violation)
        {
            return ParseResult<T>.Failure(violation.Status, violation.Message);
        }
        catch (XmlException ex) when (ContainsMarkupDeclaration(rented.AsSpan(0, length), afterAcceptedDoctype: doctypeName is not null))
        {
            return ParseResult<T>.Failure(StatusCode.Invalid, "markup declarations are not allowed (only one DOCTYPE, before the root): " + ex.Message);
        }
        catch (XmlException ex) when (doctypeName is not null && EntityReferences.HasUndeclared(rented.AsSpan(0, length)))
        {
            // Under a DOCTYPE with an external DTD an undeclared entity is well-formed XML (it could
            // be declared there), but the DTD is never read: we refuse what we will not expand.
            return ParseResult<T>.Failure(StatusCode.Invalid, "entity references other than the five predefined ones are not expanded: " + ex.Message);
        }
        catch (XmlException ex)
        {
            return ParseResult<T>.Failure(StatusCode.Malformed, "not well-formed XML: " + ex.Message);
        }
        catch (ArgumentException ex)
        {
            // XmlReader's own fault on some ill-formed declarations (an ArgumentOutOfRangeException from
            // its buffer copy, CrnpParserTests): still ill-formed input, never an escaping exception.
            return ParseResult<T>.Failure(StatusCode.Malformed, "not well-formed XML: " + ex.Message);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
    }

    // A markup declaration the reader refused (one inside the root, or a second DOCTYPE) is INVALID,
    // as DocumentFramer says of the same bytes; "<![CDATA[" is not one, nor the DOCTYPE accepted.
    private static bool ContainsMarkupDeclaration(ReadOnlySpan<byte> bytes, bool afterAcceptedDoctype)
    {
        if (afterAcceptedDoctype)
        {
            bytes = bytes[(bytes.IndexOf("<!DOCTYPE"u8) + 2)..];
        }
        for (var at = bytes.IndexOf("<!"u8); at >= 0 && at + 2 < bytes.Length; at = NextBang(bytes, at))
        {
            if (char.IsAsciiLetter((char)bytes[at + 2]))
            {
                return true;
            }
        }
        return false;

        static int NextBang(ReadOnlySpan<byte> bytes, int at)
        {
            var next = bytes[(at + 2)..].IndexOf("<!"u8);
            return next < 0 ? -1 : at + 2 + next;
        }
    }

    /// <summary>Walks one document with the reader positioned before its root.</summary>
    private sealed class Walker(XmlReader reader, CrnpLimits limits)
    {
        public CrnpMessage Document(string? expectedRoot, string? doctypeName)
        {
            reader.MoveToContent();
            var root = reader.LocalName;
            if (doctypeName is not null && doctypeName != reader.Name)
            {
                throw ProtocolViolation.Invalid($"the DOCTYPE names <{doctypeName}> but the root element is <{reader.Name}>");
            }
            if (expectedRoot is not null && root != expectedRoot)
            {
                throw ProtocolViolation.Invalid($"expected <{expectedRoot}>, got <{root}>");
            }

            if (reader.Prefix.Length != 0 || reader.NamespaceURI.Length != 0)
            {
                throw ProtocolViolation.Invalid($"unexpected namespace on <{reader.Name}>");
            }

            CrnpMessage message = root switch
            {
                CallbackRegistrationElement => Registration(),
                ReplyElement => Reply(),
                EventElement => Event(),
                _ => throw ProtocolViolation.Invalid($"unknown root element <{root}>"),
            };

            // The reader must see the rest of the stream to report trailing garbage or truncation.
            while (reader.Read())
            {
                if (reader.NodeType is XmlNodeType.Element or XmlNodeType.Text or XmlNodeType.CDATA)
                {
                    throw ProtocolViolation.Malformed("content after the root element");
                }
            }
            return message;
        }

        private CallbackRegistration Registration()
        {
            var attributes = Attributes(["VERSION", "PORT", "REG_TYPE"]);
            CheckVersion(attributes[0]);
            var port = Port(Required(attributes[1], "PORT", CallbackRegistrationElement));
            var typeText = Required(attributes[2], "REG_TYPE", CallbackRegistrationElement).Trim();
            if (!RegistrationTypes.TryParse(typeText, out var type))
            {
                throw ProtocolViolation.Invalid($"REG_TYPE '{typeText}' is not one of ADD_CLIENT, ADD_EVENTS, REMOVE_CLIENT, REMOVE_EVENTS");
            }

            var events = new List<EventRegistration>();
            Children(CallbackRegistrationElement, name =>
            {
                if (name != "SC_EVENT_REG")
                {
                    throw ProtocolViolation.Invalid($"<{name}> is not allowed in <{CallbackRegistrationElement}>");
                }
                if (events.Count == limits.MaxEventRegistrations)
                {
                    throw ProtocolViolation.Malformed($"more than {limits.MaxEventRegistrations} SC_EVENT_REG elements");
                }
                events.Add(EventRegistration());
            });

            if (events.Count == 0 && type is RegistrationType.AddEvents or RegistrationType.RemoveEvents)
            {
                throw ProtocolViolation.Invalid($"{typeText} needs at least one SC_EVENT_REG");
            }
            return new CallbackRegistration(type, port, new EquatableList<EventRegistration>(events));
        }

        private EventRegistration EventRegistration()
        {
            var attributes = Attributes(["CLASS", "SUBCLASS"]);
            var @class = Text(Required(attributes[0], "CLASS", "SC_EVENT_REG"), "CLASS");
            var subclass = attributes[1] is { } s ? Text(s, "SUBCLASS") : null;
            return new EventRegistration(@class, subclass, NameValues("SC_EVENT_REG"));
        }

        private CrnpReply Reply()
        {
            var attributes = Attributes(["VERSION", "STATUS_CODE"]);
            CheckVersion(attributes[0]);
            var codeText = Required(attributes[1], "STATUS_CODE", ReplyElement).Trim();
            if (!StatusCodes.TryParse(codeText, out var code))
            {
                throw ProtocolViolation.Invalid($"STATUS_CODE '{codeText}' is not a known status code");
            }

            string? message = null;
            Children(ReplyElement, name =>
            {
                if (name != "SC_STATUS_MSG" || message is not null)
                {
                    throw ProtocolViolation.Invalid($"<{ReplyElement}> holds exactly one <SC_STATUS_MSG>, found <{name}>");
                }
                message = ElementText("SC_STATUS_MSG");
            });
            return new CrnpReply(code, message ?? throw ProtocolViolation.Invalid("<SC_REPLY> needs <SC_STATUS_MSG>"));
        }

        private CrnpEvent Event()
        {
            var attributes = Attributes(["VERSION", "CLASS", "SUBCLASS", "VENDOR", "PUBLISHER"]);
            CheckVersion(attributes[0]);
            return new CrnpEvent(
                Text(Required(attributes[1], "CLASS", EventElement), "CLASS"),
                Text(Required(attributes[2], "SUBCLASS", EventElement), "SUBCLASS"),
                Text(Required(attributes[3], "VENDOR", EventElement), "VENDOR"),
                Text(Required(attributes[4], "PUBLISHER", EventElement), "PUBLISHER"),
                NameValues(EventElement));
        }

        private EquatableList<NameValue> NameValues(string parent)
        {
            var pairs = new List<NameValue>();
            Children(parent, name =>
            {
                if (name != "NVPAIR")
                {
                    throw ProtocolViolation.Invalid($"<{name}> is not allowed in <{parent}>");
                }
                if (pairs.Count == limits.MaxNameValues)
                {
                    throw ProtocolViolation.Malformed($"more than {limits.MaxNameValues} NVPAIR elements in <{parent}>");
                }
                pairs.Add(NameValue());
            });
            return pairs.Count == 0 ? EquatableList<NameValue>.Empty : new EquatableList<NameValue>(pairs);
        }

        private NameValue NameValue()
        {
            NoAttributes("NVPAIR");
            string? name = null;
            var values = new List<string>();
            Children("NVPAIR", child =>
            {
                if (child == "NAME" && name is null && values.Count == 0)
                {
                    name = ElementText("NAME");
                }
                else if (child == "VALUE" && name is not null)
                {
                    if (values.Count == limits.MaxValuesPerName)
                    {
                        throw ProtocolViolation.Malformed($"more than {limits.MaxValuesPerName} VALUE elements in one NVPAIR");
                    }
                    values.Add(ElementText("VALUE"));
                }
                else
                {
                    throw ProtocolViolation.Invalid($"<NVPAIR> holds one <NAME> then one or more <VALUE>, found <{child}> out of place");
                }
            });

            if (name is null || values.Count == 0)
            {
                throw ProtocolViolation.Invalid("<NVPAIR> holds one <NAME> then one or more <VALUE>");
            }
            if (name.Length == 0)
            {
                throw ProtocolViolation.Invalid("<NAME> is empty");
            }
            return new NameValue(name, new EquatableList<string>(values));
        }

        /// <summary>Reads element-only content, calling <paramref name="onChild"/> positioned on each child start tag.</summary>
        private void Children(string parent, Action<string> onChild)
        {
            if (reader.IsEmptyElement)
            {
                return;
            }

            while (reader.Read())
            {
                switch (reader.NodeType)
                {
                    case XmlNodeType.Element:
                        if (reader.Prefix.Length != 0)
                        {
                            throw ProtocolViolation.Invalid($"unexpected namespace on <{reader.Name}>");
                        }
                        onChild(reader.LocalName);
                        break;
                    case XmlNodeType.EndElement:
                        return;
                    case XmlNodeType.Whitespace or XmlNodeType.SignificantWhitespace:
                        break;
                    case XmlNodeType.Text or XmlNodeType.CDATA:
                        throw ProtocolViolation.Invalid($"text is not allowed directly in <{parent}>");
                    default:
                        throw ProtocolViolation.Invalid($"unexpected {reader.NodeType} in <{parent}>");
                }
            }
            throw ProtocolViolation.Malformed($"document ended inside <{parent}>");
        }

        /// <summary>Reads text-only content (plain text and CDATA, concatenated) of the current element.</summary>
        private string ElementText(string element)
        {
            NoAttributes(element);
            if (reader.IsEmptyElement)
            {
                return string.Empty;
            }

            string? single = null;
            StringBuilder? many = null;
            while (reader.Read())
            {
                switch (reader.NodeType)
                {
                    case XmlNodeType.Text or XmlNodeType.CDATA or XmlNodeType.Whitespace or XmlNodeType.SignificantWhitespace:
                        if (single is null)
                        {
                            single = reader.Value;
                        }
                        else
                        {
                            many ??= new StringBuilder(single);
                            many.Append(reader.Value);
                        }
                        var length = many?.Length ?? single.Length;
                        if (length > limits.MaxTextLength)
                        {
                            throw ProtocolViolation.Malformed($"<{element}> text longer than {limits.MaxTextLength} characters");
                        }
                        break;
                    case XmlNodeType.EndElement:
                        return many?.ToString() ?? single ?? string.Empty;
                    case XmlNodeType.Element:
                        throw ProtocolViolation.Invalid($"<{reader.LocalName}> is not allowed in <{element}>");
                    default:
                        throw ProtocolViolation.Invalid($"unexpected {reader.NodeType} in <{element}>");
                }
            }
            throw ProtocolViolation.Malformed($"document ended inside <{element}>");
        }

        /// <summary>Reads the attributes of the current element; any attribute not in <paramref name="allowed"/> is INVALID.</summary>
        private string?[] Attributes(string[] allowed)
        {
            var element = reader.LocalName;
            var values = new string?[allowed.Length];
            if (reader.MoveToFirstAttribute())
            {
                do
                {
                    var index = Array.IndexOf(allowed, reader.Name);
                    if (index < 0)
                    {
                        throw ProtocolViolation.Invalid($"attribute {reader.Name} is not allowed on <{element}>");
                    }
                    values[index] = reader.Value;
                }
                while (reader.MoveToNextAttribute());
                reader.MoveToElement();
            }
            return values;
        }

        private void NoAttributes(string element)
        {
            if (reader.HasAttributes)
            {
                reader.MoveToFirstAttribute();
                throw ProtocolViolation.Invalid($"attribute {reader.Name} is not allowed on <{element}>");
            }
        }

        private string Text(string value, string what) => value.Length <= limits.MaxTextLength
            ? value
            : throw ProtocolViolation.Malformed($"{what} longer than {limits.MaxTextLength} characters");

        private static string Required(string? value, string attribute, string element) =>
            value ?? throw ProtocolViolation.Invalid($"<{element}> needs attribute {attribute}");

        // VERSION is #FIXED "1.0": absent means 1.0; otherwise compared as a number.
        private static void CheckVersion(string? version)
        {
            if (version is null)
            {
                return;
            }

            var text = version.Trim();
            if (text.Length == 0 || text.Length > 16
                || !decimal.TryParse(text, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var number))
            {
                throw ProtocolViolation.Invalid($"VERSION '{version}' is not a number");
            }

            if (number > 1.0m)
            {
                throw new ProtocolViolation(StatusCode.VersionTooHigh, $"VERSION {text} is higher than the supported 1.0");
            }
            if (number < 1.0m)
            {
                throw new ProtocolViolation(StatusCode.VersionTooLow, $"VERSION {text} is lower than the supported 1.0");
            }
        }

        private static int Port(string value)
        {
            var text = value.Trim();
            if (text.Length is 0 or > 5 || !text.All(char.IsAsciiDigit) || int.Parse(text, CultureInfo.InvariantCulture) is < 1 or > 65535)
            {
                throw ProtocolViolation.Invalid($"PORT '{value}' is not a decimal number from 1 to 65535");
            }
            return int.Parse(text, CultureInfo.InvariantCulture);
        }
    }
}
