using System.Diagnostics.CodeAnalysis;

namespace CrnpCloud.Protocol;

/// <summary>A parsed message or the status code and reason it was refused.</summary>
public readonly struct ParseResult<T>
    where T : CrnpMessage
{
    private ParseResult(T? value, CrnpError error)
    {
        Value = value;
        Error = error;
    }

    public T? Value { get; }

    public CrnpError Error { get; }

    [MemberNotNullWhen(true, nameof(Value))]
    public bool IsSuccess => Value is not null;

    public static ParseResult<T> Success(T value) => new(value, default);

    public static ParseResult<T> Failure(CrnpError error) => new(null, error);

    public static ParseResult<T> Failure(StatusCode status, string message) => new(null, new CrnpError(status, message));

    public override string ToString() => IsSuccess ? Value.ToString()! : $"{Error.Status.ToWire()}: {Error.Message}";
}
