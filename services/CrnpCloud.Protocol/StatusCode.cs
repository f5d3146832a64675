namespace CrnpCloud.Protocol;

/// <summary>The <c>STATUS_CODE</c> values of <c>SC_REPLY</c> (PROTOCOL.md section 3).</summary>
public enum StatusCode
{
    Ok,
    Retry,
    LowResource,
    SystemError,
    Fail,
    Malformed,
    Invalid,
    VersionTooHigh,
    VersionTooLow,
}

public static class StatusCodes
{
    /// <summary>The spelling the server emits.</summary>
    public static string ToWire(this StatusCode code) => code switch
    {
        StatusCode.Ok => "OK",
        StatusCode.Retry => "RETRY",
        StatusCode.LowResource => "LOW_RESOURCE",
        StatusCode.SystemError => "SYSTEM_ERROR",
        StatusCode.Fail => "FAIL",
        StatusCode.Malformed => "MALFORMED",
        StatusCode.Invalid => "INVALID",
        StatusCode.VersionTooHigh => "VERSION_TOO_HIGH",
        StatusCode.VersionTooLow => "VERSION_TOO_LOW",
        _ => throw new ArgumentOutOfRangeException(nameof(code), code, "unknown status code"),
    };

    /// <summary>Parses a wire spelling; also accepts the older <c>LOW_RESOURCES</c> and <c>INVALID_XML</c>.</summary>
    public static bool TryParse(string? text, out StatusCode code)
    {
        switch (text)
        {
            case "OK": code = StatusCode.Ok; return true;
            case "RETRY": code = StatusCode.Retry; return true;
            case "LOW_RESOURCE" or "LOW_RESOURCES": code = StatusCode.LowResource; return true;
            case "SYSTEM_ERROR": code = StatusCode.SystemError; return true;
            case "FAIL": code = StatusCode.Fail; return true;
            case "MALFORMED": code = StatusCode.Malformed; return true;
            case "INVALID" or "INVALID_XML": code = StatusCode.Invalid; return true;
            case "VERSION_TOO_HIGH": code = StatusCode.VersionTooHigh; return true;
            case "VERSION_TOO_LOW": code = StatusCode.VersionTooLow; return true;
            default: code = default; return false;
        }
    }
}
