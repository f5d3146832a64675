namespace CrnpCloud.Core;

/// <summary>
/// The client registrations: the edge applies CRNP registration messages, the operator applies
/// CrnpClient resources (declared registrations), and the admin API reads and removes them. A
/// registration change and the first events it queues are one atomic step, so no publish can slip
/// between them (docs/architecture.md, invariant 3).
/// </summary>
public interface IRegistrationStore
{
    /// <summary>Applies ADD_CLIENT / ADD_EVENTS / REMOVE_EVENTS / REMOVE_CLIENT (PROTOCOL.md section 2).</summary>
    Task<RegistrationResult> ApplyAsync(RegistrationChange change, CancellationToken cancellationToken = default);

    /// <summary>A client's registration; null when it is not registered.</summary>
    Task<ClientRegistration?> GetClientAsync(CallbackAddress client, CancellationToken cancellationToken = default);

    /// <summary>Every registered client.</summary>
    Task<IReadOnlyList<ClientRegistration>> ListClientsAsync(CancellationToken cancellationToken = default);
}
