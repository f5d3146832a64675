using Microsoft.Extensions.Logging;

namespace CrnpCloud.Delivery;

internal static partial class DeliveryLog
{
    [LoggerMessage(301, LogLevel.Information, "Worker {Worker} now holds {Count} partition(s) (fair share {Share})")]
    public static partial void Holding(ILogger logger, string worker, int count, int share);

    [LoggerMessage(302, LogLevel.Warning, "Delivery of #{Sequence} to {Client} failed (attempt {Attempt} of {Attempts}): {Reason}")]
    public static partial void AttemptFailed(ILogger logger, long sequence, string client, int attempt, int attempts, string reason);

    [LoggerMessage(303, LogLevel.Warning, "Removed client {Client} after {Attempts} failed attempts: {Reason}")]
    public static partial void ClientRemoved(ILogger logger, string client, int attempts, string reason);

    [LoggerMessage(304, LogLevel.Warning, "Lost the lease of partition {Partition}; stopped delivering it")]
    public static partial void LeaseLost(ILogger logger, int partition);

    [LoggerMessage(305, LogLevel.Warning, "Could not renew leases: {Reason}")]
    public static partial void ClaimFailed(ILogger logger, string reason);

    [LoggerMessage(306, LogLevel.Warning, "Leases not renewed in time; stopped delivering every partition")]
    public static partial void LeasesExpired(ILogger logger);

    [LoggerMessage(307, LogLevel.Warning, "Store unavailable while delivering to {Client}; will retry")]
    public static partial void StoreUnavailable(ILogger logger, string client);

    [LoggerMessage(308, LogLevel.Error, "Unexpected fault in the delivery loop of {Client}")]
    public static partial void Fault(ILogger logger, Exception exception, string client);

    [LoggerMessage(310, LogLevel.Information, "Worker {Worker} hands back {Count} partition(s) beyond its fair share of {Share}")]
    public static partial void Shedding(ILogger logger, string worker, int count, int share);

    [LoggerMessage(311, LogLevel.Error, "Unexpected fault in the lease loop; carrying on")]
    public static partial void LoopFault(ILogger logger, Exception exception);

    [LoggerMessage(312, LogLevel.Warning, "Partition {Partition}: the store changed from {Previous} to {Current} (failover or restart); queued {Queued} current-state event(s) to resync its clients")]
    public static partial void Resynced(ILogger logger, int partition, string previous, string current, int queued);

    [LoggerMessage(313, LogLevel.Information, "Delivery to {Client} not connected after {Milliseconds} ms and the suspect budget is full: put off, to be made again from it (not counted as a failure)")]
    public static partial void PutOff(ILogger logger, string client, double milliseconds);

    [LoggerMessage(314, LogLevel.Warning, "Delivery to {Client} ended: the lease of partition {Partition} lapsed during the attempt (not counted as a failure)")]
    public static partial void AttemptLapsed(ILogger logger, string client, int partition);

    [LoggerMessage(315, LogLevel.Warning, "{Count} more {What} were not logged (at most {Burst} lines per {Seconds} s; the crnp.delivery metrics count every one)")]
    public static partial void Suppressed(ILogger logger, long count, string what, int burst, double seconds);

    // The address itself, not its text: the generated method formats it only when Debug is on, and
    // this runs once per delivery.
    [LoggerMessage(309, LogLevel.Debug, "Delivered #{Sequence} to {Client}")]
    public static partial void Delivered(ILogger logger, long sequence, Core.CallbackAddress client);

    [LoggerMessage(316, LogLevel.Debug, "The delivery path's warm-up failed ({Reason}); the first deliveries compile it instead")]
    public static partial void WarmUpFailed(ILogger logger, string reason);
}
