namespace CrnpCloud.Protocol;

/// <summary>Thrown inside the parser only, to unwind to the single place that turns it into a result.</summary>
internal sealed class ProtocolViolation(StatusCode status, string message) : Exception(message)
{
    public StatusCode Status { get; } = status;

    public static ProtocolViolation Invalid(string message) => new(StatusCode.Invalid, message);

    public static ProtocolViolation Malformed(string message) => new(StatusCode.Malformed, message);
}
