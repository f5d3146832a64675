using System.Net;
using CrnpCloud.Protocol;
using Microsoft.Extensions.Logging;

namespace CrnpCloud.Edge;

internal static partial class EdgeLog
{
    [LoggerMessage(101, LogLevel.Information, "Registration {RegType} from {Client}: {Status} {Message}")]
    public static partial void Answered(ILogger logger, string regType, string client, string status, string message);

    [LoggerMessage(102, LogLevel.Warning, "Refused message from {Remote}: {Status} {Message}")]
    public static partial void Refused(ILogger logger, IPAddress? remote, string status, string message);

    [LoggerMessage(103, LogLevel.Warning, "Connection from {Remote} sent no complete registration within {Timeout}; closed")]
    public static partial void TimedOut(ILogger logger, IPAddress? remote, TimeSpan timeout);

    [LoggerMessage(104, LogLevel.Warning, "Store unavailable while applying {RegType} from {Client}; answered RETRY")]
    public static partial void StoreUnavailable(ILogger logger, Exception exception, string regType, string client);

    [LoggerMessage(105, LogLevel.Error, "Unexpected fault on a registration connection from {Remote}")]
    public static partial void Fault(ILogger logger, Exception exception, IPAddress? remote);

    [LoggerMessage(107, LogLevel.Debug, "Connection from {Remote} was reset before a complete registration")]
    public static partial void PeerReset(ILogger logger, IPAddress? remote);

    [LoggerMessage(106, LogLevel.Debug, "Could not write the reply to {Remote}: the peer went away")]
    public static partial void ReplyLost(ILogger logger, Exception exception, IPAddress? remote);

    [LoggerMessage(108, LogLevel.Information, "LOCAL now includes {Count} cluster network(s) from the live settings: {Networks}")]
    public static partial void ClusterNetworksApplied(ILogger logger, int count, string networks);

    [LoggerMessage(109, LogLevel.Warning, "Connection from {Remote} refused at once: host not allowed to register; answered FAIL ({Suppressed} more refused since the last line)")]
    public static partial void DeniedAtAccept(ILogger logger, IPAddress? remote, long suppressed);

    [LoggerMessage(110, LogLevel.Warning, "Connection from {Remote} refused at once: {Limit} registration connections already open from that address; answered LOW_RESOURCE ({Suppressed} more refused since the last line)")]
    public static partial void AddressLimitReached(ILogger logger, IPAddress? remote, int limit, long suppressed);

    [LoggerMessage(111, LogLevel.Warning, "Connection from {Remote} refused at once: {Limit} registration connections already open; answered LOW_RESOURCE ({Suppressed} more refused since the last line)")]
    public static partial void GlobalLimitReached(ILogger logger, IPAddress? remote, int limit, long suppressed);

    [LoggerMessage(112, LogLevel.Warning, "Connection from {Remote} sent no byte for {Timeout}; closed ({Suppressed} more closed so since the last line)")]
    public static partial void IdleTimedOut(ILogger logger, IPAddress? remote, TimeSpan timeout, long suppressed);
}
