using Microsoft.Extensions.Logging;

namespace CrnpCloud.Ingest;

internal static partial class IngestLog
{
    [LoggerMessage(201, LogLevel.Debug, "Published {Class}/{Subclass} as #{Sequence} to {Queued} client(s)")]
    public static partial void Published(ILogger logger, string @class, string subclass, long sequence, int queued);

    [LoggerMessage(202, LogLevel.Information, "Duplicate publish (idempotency key {Key}) of #{Sequence}; nothing queued")]
    public static partial void Duplicate(ILogger logger, string key, long sequence);

    [LoggerMessage(203, LogLevel.Warning, "Store unavailable; publish refused with UNAVAILABLE")]
    public static partial void StoreUnavailable(ILogger logger, Exception exception);

    [LoggerMessage(204, LogLevel.Information, "Publish refused: {Status} {Detail}")]
    public static partial void Refused(ILogger logger, string status, string detail);

    [LoggerMessage(205, LogLevel.Warning, "Client {Client} removed through the admin API by {Peer}")]
    public static partial void AdminRemoved(ILogger logger, string client, string peer);

    [LoggerMessage(206, LogLevel.Debug, "Call to {Method} from {Peer} refused with UNAUTHENTICATED: {Reason}")]
    public static partial void Unauthenticated(ILogger logger, string method, string peer, string reason);

    [LoggerMessage(207, LogLevel.Warning, "Call to {Method} from {Peer} refused with PERMISSION_DENIED: a publish token cannot call it")]
    public static partial void PermissionDenied(ILogger logger, string method, string peer);

    [LoggerMessage(208, LogLevel.Information, "Client {Client}: {Queued} event(s) queued again ({What}) through the admin API by {Peer}")]
    public static partial void AdminReplayed(ILogger logger, string client, int queued, string what, string peer);
}
