namespace CrnpCloud.Core;

/// <summary>
/// Whether the store can be reached: what every service's readiness probe asks
/// (<c>StoreHealthCheck</c>), and nothing else.
/// </summary>
public interface IStoreHealth
{
    /// <summary>Succeeds when the store can be reached; throws <see cref="StoreUnavailableException"/> otherwise.</summary>
    Task PingAsync(CancellationToken cancellationToken = default);
}
