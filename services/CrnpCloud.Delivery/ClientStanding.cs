namespace CrnpCloud.Delivery;

/// <summary>
/// How a client's attempts have been going, as this worker has seen them since it took the client's
/// partition: suspect after a failed, slow or put-off attempt, in good standing again after an attempt
/// that completed within <see cref="DeliveryOptions.SuspectAfter"/>. Owned by the client's loop (one
/// attempt at a time), so no locking.
/// </summary>
internal sealed class ClientStanding
{
    public bool Suspect { get; set; }
}
