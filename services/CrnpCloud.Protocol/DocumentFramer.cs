using System.Buffers;

namespace CrnpCloud.Protocol;

public enum FrameStatus
{
    /// <summary>The root element has not closed yet: read more bytes and call again.</summary>
    Incomplete,

    /// <summary>The root element closed; the document is the first <c>documentLength</c> bytes.</summary>
    Complete,

    /// <summary>The bytes can never become an acceptable document.</summary>
    Error,
}

/// <summary>
/// Finds where one XML document ends in a growing byte buffer, without waiting for EOF: CRNP clients
/// send the document and wait for the reply without half-closing. It tracks just enough XML
/// (tags, quotes, comments, CDATA, processing instructions) to know when the root element closes,
/// remembers how far it has looked so each byte is examined once however the input is split, and
/// refuses a markup declaration as soon as it sees one. The one declaration let through is a single
/// DOCTYPE before the root without an internal subset (<c>[</c> is refused as soon as it is seen),
/// which names the root and perhaps an external DTD that is never fetched
/// (<see cref="DoctypeDeclaration"/> checks its grammar when the document is parsed).
/// Full well-formedness is left to <see cref="CrnpParser"/>.
/// </summary>
public sealed class DocumentFramer
{
    private static ReadOnlySpan<byte> Bom => [0xEF, 0xBB, 0xBF];
    private static ReadOnlySpan<byte> CDataOpen => "[CDATA["u8;
    private static ReadOnlySpan<byte> DoctypeKeyword => "DOCTYPE"u8;

    private const int MaxNameBytes = 128;

    private readonly CrnpLimits _limits;
    private readonly List<byte[]> _open = [];
    private readonly byte[] _name = new byte[MaxNameBytes];
    private int _nameLength;
    private bool _inName;
    private long _examined;
    private State _state;
    private int _depth;
    private int _run;
    private byte _quote;
    private byte _previous;
    private bool _doctypeSeen;

    public DocumentFramer(CrnpLimits? limits = null) => _limits = limits ?? CrnpLimits.Default;

    private enum State
    {
        Start,
        Text,
        AfterLessThan,
        Bang,
        StartTag,
        EndTag,
        Comment,
        CData,
        ProcessingInstruction,
        DoctypeKeyword,
        Doctype,
    }

    /// <summary>Forgets everything, to frame a new document from a fresh buffer.</summary>
    public void Reset()
    {
        _examined = 0;
        _state = State.Start;
        _depth = 0;
        _run = 0;
        _quote = 0;
        _previous = 0;
        _open.Clear();
        _nameLength = 0;
        _inName = false;
        _doctypeSeen = false;
    }

    /// <summary>
    /// Looks at the bytes of <paramref name="buffer"/> it has not seen yet. The buffer must start at
    /// the same byte on every call (only grow at its end) until the result is not Incomplete.
    /// </summary>
    public FrameStatus Advance(in ReadOnlySequence<byte> buffer, out long documentLength, out CrnpError error)
    {
        documentLength = 0;
        error = default;
        if (_state == State.Start)
        {
            if (!SkipBom(buffer, out var incomplete))
            {
                return incomplete ? FrameStatus.Incomplete : FrameStatus.Error;
            }
        }

        var limit = Math.Min(buffer.Length, _limits.MaxDocumentBytes);
        foreach (var segment in buffer.Slice(_examined, limit - _examined))
        {
            var span = segment.Span;
            for (var i = 0; i < span.Length; i++)
            {
                if (_state == State.Text && _depth > 0)
                {
                    // Element content: nothing matters until the next '<'.
                    var next = span[i..].IndexOf((byte)'<');
                    var skip = next < 0 ? span.Length - i : next;
                    _examined += skip;
                    i += skip;
                    if (next < 0)
                    {
                        break;
                    }
                }

                var position = _examined++;
                var step = Step(span[i], position, ref error);
                if (step == FrameStatus.Error)
                {
                    return step;
                }

                if (step == FrameStatus.Complete)
                {
                    documentLength = position + 1;
                    if (HasTrailingData(buffer.Slice(documentLength)))
                    {
                        error = new CrnpError(StatusCode.Malformed, "data after the end of the root element");
                        return FrameStatus.Error;
                    }
                    return FrameStatus.Complete;
                }
            }
        }

        if (_examined >= _limits.MaxDocumentBytes)
        {
            error = new CrnpError(StatusCode.Malformed, $"document exceeds the limit of {_limits.MaxDocumentBytes} bytes");
            return FrameStatus.Error;
        }
        return FrameStatus.Incomplete;
    }

    /// <summary>What to answer when the peer ended the stream before the document was complete.</summary>
    public CrnpError TruncatedError() => new(StatusCode.Malformed, _examined == 0
        ? "empty document"
        : "document truncated: the connection ended before the root element closed");

    private bool SkipBom(in ReadOnlySequence<byte> buffer, out bool incomplete)
    {
        incomplete = false;
        Span<byte> head = stackalloc byte[3];
        var available = (int)Math.Min(3, buffer.Length);
        buffer.Slice(0, available).CopyTo(head);
        if (head[..available].SequenceEqual(Bom[..available]))
        {
            if (available < 3)
            {
                incomplete = true;
                return false;
            }
            _examined = 3;
        }
        _state = State.Text;
        return true;
    }

    private static bool HasTrailingData(in ReadOnlySequence<byte> rest)
    {
        foreach (var segment in rest)
        {
            if (segment.Span.IndexOfAnyExcept(" \t\r\n"u8) >= 0)
            {
                return true;
            }
        }
        return false;
    }

    private FrameStatus Step(byte b, long position, ref CrnpError error)
    {
        switch (_state)
        {
            case State.Text:
                if (b == (byte)'<')
                {
                    _state = State.AfterLessThan;
                }
                else if (_depth == 0 && !IsWhitespace(b))
                {
                    return Fail(ref error, StatusCode.Malformed, $"text outside the root element at byte {position}");
                }
                return FrameStatus.Incomplete;

            case State.AfterLessThan:
                return AfterLessThan(b, position, ref error);

            case State.Bang:
                return InBang(b, ref error);

            case State.Comment:
                if (b == (byte)'>' && _run >= 2)
                {
                    _state = State.Text;
                }
                _run = b == (byte)'-' ? _run + 1 : 0;
                return FrameStatus.Incomplete;

            case State.CData:
                if (b == (byte)'>' && _run >= 2)
                {
                    _state = State.Text;
                }
                _run = b == (byte)']' ? _run + 1 : 0;
                return FrameStatus.Incomplete;

            case State.ProcessingInstruction:
                if (b == (byte)'>' && _previous == (byte)'?')
                {
                    _state = State.Text;
                }
                _previous = b;
                return FrameStatus.Incomplete;

            case State.StartTag:
                return InStartTag(b, position, ref error);

            case State.EndTag:
                return InEndTag(b, position, ref error);

            case State.DoctypeKeyword:
                return InDoctypeKeyword(b, ref error);

            case State.Doctype:
                return InDoctype(b, ref error);

            default:
                return Fail(ref error, StatusCode.SystemError, "framer in an unknown state");
        }
    }

    private FrameStatus AfterLessThan(byte b, long position, ref CrnpError error)
    {
        switch (b)
        {
            case (byte)'?':
                _state = State.ProcessingInstruction;
                _previous = 0;
                return FrameStatus.Incomplete;
            case (byte)'!':
                _state = State.Bang;
                _run = 0;
                return FrameStatus.Incomplete;
            case (byte)'/':
                if (_depth == 0)
                {
                    return Fail(ref error, StatusCode.Malformed, $"end tag without a start tag at byte {position}");
                }
                _state = State.EndTag;
                _nameLength = 0;
                return FrameStatus.Incomplete;
            default:
                if (!IsNameStart(b))
                {
                    return Fail(ref error, StatusCode.Malformed, $"invalid character after '<' at byte {position}");
                }
                _state = State.StartTag;
                _quote = 0;
                _previous = b;
                _nameLength = 0;
                _inName = true;
                return AppendName(b, ref error);
        }
    }

    // After "<!": "--" opens a comment, "[CDATA[" a CDATA section (inside the root only); a letter
    // starts a markup declaration (ENTITY, ELEMENT, ...), which CRNP never needs and we refuse,
    // except one DOCTYPE before the root.
    private FrameStatus InBang(byte b, ref CrnpError error)
    {
        if (_run == 0 && IsAsciiLetter(b))
        {
            if (b != DoctypeKeyword[0] || _depth != 0 || _doctypeSeen)
            {
                return Fail(ref error, StatusCode.Invalid, "markup declarations are not allowed (only one DOCTYPE, before the root)");
            }
            _state = State.DoctypeKeyword;
            _run = 1;
            return FrameStatus.Incomplete;
        }

        if (_run == 0 && b == (byte)'-')
        {
            _run = -1;
            return FrameStatus.Incomplete;
        }

        if (_run == -1)
        {
            if (b != (byte)'-')
            {
                return Fail(ref error, StatusCode.Malformed, "malformed comment");
            }
            _state = State.Comment;
            _run = 0;
            return FrameStatus.Incomplete;
        }

        if (_run >= 0 && _run < CDataOpen.Length && b == CDataOpen[_run])
        {
            if (_depth == 0)
            {
                return Fail(ref error, StatusCode.Malformed, "CDATA outside the root element");
            }
            _run++;
            if (_run == CDataOpen.Length)
            {
                _state = State.CData;
                _run = 0;
            }
            return FrameStatus.Incomplete;
        }

        return Fail(ref error, StatusCode.Malformed, "malformed markup after '<!'");
    }

    private FrameStatus InDoctypeKeyword(byte b, ref CrnpError error)
    {
        if (_run < DoctypeKeyword.Length)
        {
            if (b != DoctypeKeyword[_run++])
            {
                return Fail(ref error, StatusCode.Invalid, "markup declarations are not allowed (only one DOCTYPE, before the root)");
            }
            return FrameStatus.Incomplete;
        }
        if (!IsWhitespace(b))
        {
            return Fail(ref error, StatusCode.Invalid, "malformed DOCTYPE: a space must follow the keyword");
        }
        _state = State.Doctype;
        _quote = 0;
        return FrameStatus.Incomplete;
    }

    // Inside "<!DOCTYPE ": quoted literals may hold anything but their quote; outside them '['
    // opens an internal subset (entity and other declarations), refused before any of it arrives.
    private FrameStatus InDoctype(byte b, ref CrnpError error)
    {
        if (_quote != 0)
        {
            if (b == _quote)
            {
                _quote = 0;
            }
            return FrameStatus.Incomplete;
        }

        switch (b)
        {
            case (byte)'"' or (byte)'\'':
                _quote = b;
                return FrameStatus.Incomplete;
            case (byte)'[':
                return Fail(ref error, StatusCode.Invalid, "a DOCTYPE with an internal subset is not allowed");
            case (byte)'<':
                return Fail(ref error, StatusCode.Invalid, "malformed DOCTYPE: '<' outside a literal");
            case (byte)'>':
                _doctypeSeen = true;
                _state = State.Text;
                return FrameStatus.Incomplete;
            default:
                return FrameStatus.Incomplete;
        }
    }

    private FrameStatus InStartTag(byte b, long position, ref CrnpError error)
    {
        if (_quote != 0)
        {
            if (b == _quote)
            {
                _quote = 0;
            }
            else if (b == (byte)'<')
            {
                return Fail(ref error, StatusCode.Malformed, $"'<' in an attribute value at byte {position}");
            }
            return FrameStatus.Incomplete;
        }

        if (_inName)
        {
            if (!IsWhitespace(b) && b is not (byte)'/' and not (byte)'>')
            {
                _previous = b;
                return AppendName(b, ref error);
            }
            _inName = false;
        }

        switch (b)
        {
            case (byte)'"' or (byte)'\'':
                _quote = b;
                break;
            case (byte)'<':
                return Fail(ref error, StatusCode.Malformed, $"'<' inside a tag at byte {position}");
            case (byte)'>':
                _state = State.Text;
                if (_previous == (byte)'/')
                {
                    return _depth == 0 ? FrameStatus.Complete : FrameStatus.Incomplete;
                }
                if (++_depth > _limits.MaxDepth)
                {
                    return Fail(ref error, StatusCode.Malformed, $"elements nested deeper than {_limits.MaxDepth}");
                }
                _open.Add(_name.AsSpan(0, _nameLength).ToArray());
                return FrameStatus.Incomplete;
        }
        _previous = b;
        return FrameStatus.Incomplete;
    }

    private FrameStatus InEndTag(byte b, long position, ref CrnpError error)
    {
        if (b == (byte)'<')
        {
            return Fail(ref error, StatusCode.Malformed, $"'<' inside an end tag at byte {position}");
        }

        if (b != (byte)'>')
        {
            return IsWhitespace(b) && _nameLength > 0 ? FrameStatus.Incomplete : AppendName(b, ref error);
        }

        // End tags must close the innermost open element: a mismatch can never become well-formed,
        // so say so now rather than wait for more bytes that would not help.
        var expected = _open[^1];
        if (!_name.AsSpan(0, _nameLength).SequenceEqual(expected))
        {
            return Fail(ref error, StatusCode.Malformed, $"end tag does not match the open element at byte {position}");
        }
        _open.RemoveAt(_open.Count - 1);
        _state = State.Text;
        return --_depth == 0 ? FrameStatus.Complete : FrameStatus.Incomplete;
    }

    private FrameStatus AppendName(byte b, ref CrnpError error)
    {
        if (_nameLength == MaxNameBytes)
        {
            return Fail(ref error, StatusCode.Malformed, $"element name longer than {MaxNameBytes} bytes");
        }
        _name[_nameLength++] = b;
        return FrameStatus.Incomplete;
    }

    private static FrameStatus Fail(ref CrnpError error, StatusCode status, string message)
    {
        error = new CrnpError(status, message);
        return FrameStatus.Error;
    }

    private static bool IsWhitespace(byte b) => b is (byte)' ' or (byte)'\t' or (byte)'\r' or (byte)'\n';

    private static bool IsAsciiLetter(byte b) => (uint)((b | 0x20) - 'a') <= 'z' - 'a';

    // Non-ASCII lead bytes may start a name; the parser checks the real rules.
    private static bool IsNameStart(byte b) => IsAsciiLetter(b) || b is (byte)'_' or (byte)':' || b >= 0x80;
}
