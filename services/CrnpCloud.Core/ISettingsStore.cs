namespace CrnpCloud.Core;

/// <summary>
/// Where the live server settings are kept: the same store the services share. They have two
/// writers, each owning its own part, kept apart so neither overwrites the other and no write needs
/// to read first: <see cref="SetSettingsAsync"/> (the CrnpServer and CrnpClient settings) and
/// <see cref="SetClusterNetworksAsync"/> (the Nodes' networks). A read returns both at once.
/// </summary>
public interface ISettingsStore
{
    /// <summary>
    /// The stored settings with the stored cluster networks, read together, or
    /// <see cref="ServerSettings.None"/> when nothing was written.
    /// </summary>
    Task<ServerSettings> GetSettingsAsync(CancellationToken cancellationToken = default);

    /// <summary>Replaces every setting except <see cref="ServerSettings.ClusterNetworks"/>, which it ignores and keeps.</summary>
    Task SetSettingsAsync(ServerSettings settings, CancellationToken cancellationToken = default);

    /// <summary>Replaces <see cref="ServerSettings.ClusterNetworks"/> only; the other settings are kept.</summary>
    Task SetClusterNetworksAsync(IReadOnlyList<string> networks, CancellationToken cancellationToken = default);
}
