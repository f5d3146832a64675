namespace CrnpCloud.Delivery;

/// <summary>
/// How a client's attempts have been going, as this worker has seen them since it took the client's
/// partition. Owned by the client's loop (one attempt at a time), so no locking.
/// </summary>
internal sealed class ClientStanding
{
    public Standing Value { get; set; } = Standing.New;
}

internal enum Standing
{
    /// <summary>No attempt yet on this worker: served from the suspect budget while it has room (so clients met for the first time, silent ones among them, never take what proven ones need), else from the main one, watched.</summary>
    New,

    /// <summary>The last attempt got through (however long it took): the main budget, watched; never put off.</summary>
    Good,

    /// <summary>The last attempt failed, or was put off before it connected: the suspect budget only.</summary>
    Suspect,
}
