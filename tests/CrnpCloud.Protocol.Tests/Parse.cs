using System.Buffers;

namespace CrnpCloud.Protocol.Tests;

internal static class Parse
{
    public static ParseResult<CallbackRegistration> Registration(string xml, CrnpLimits? limits = null) =>
        CrnpParser.ParseRegistration(new ReadOnlySequence<byte>(Samples.Utf8(xml)), limits);

    public static ParseResult<CrnpMessage> Any(byte[] bytes, CrnpLimits? limits = null) =>
        CrnpParser.Parse(new ReadOnlySequence<byte>(bytes), limits);

    public static StatusCode RegistrationStatus(string xml, CrnpLimits? limits = null)
    {
        var result = Registration(xml, limits);
        return result.IsSuccess ? StatusCode.Ok : result.Error.Status;
    }
}
