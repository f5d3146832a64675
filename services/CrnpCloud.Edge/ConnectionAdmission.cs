using System.Collections.Concurrent;
using System.Net;
using Microsoft.Extensions.Options;

namespace CrnpCloud.Edge;

/// <summary>Why a connection was refused before its document was read.</summary>
internal enum AdmissionRefusal
{
    None,
    Denied,
    AddressLimit,
    GlobalLimit,
}

/// <summary>
/// Decides, as a connection is accepted and before a byte of it is read, whether it may send a
/// registration: the host must be allowed (<see cref="HostAccessPolicy"/>), and it must find a place
/// both under <see cref="EdgeOptions.MaxConcurrentConnections"/> and under its own address's
/// <see cref="EdgeOptions.MaxConnectionsPerAddress"/>. A place is held until the lease is disposed.
/// </summary>
internal sealed class ConnectionAdmission(HostAccessPolicy policy, IOptionsMonitor<EdgeOptions> options)
{
    private readonly ConcurrentDictionary<IPAddress, int> _perAddress = new();
    private int _open;

    /// <summary>Registration connections holding a place now.</summary>
    public int Open => Volatile.Read(ref _open);

    public AdmissionRefusal TryAdmit(IPAddress? remote, out Lease lease)
    {
        lease = default;
        if (remote is not null && !policy.IsAllowed(remote))
        {
            return AdmissionRefusal.Denied;
        }

        var settings = options.CurrentValue;
        if (Interlocked.Increment(ref _open) > settings.MaxConcurrentConnections)
        {
            Interlocked.Decrement(ref _open);
            return AdmissionRefusal.GlobalLimit;
        }
        if (remote is not null)
        {
            var count = _perAddress.AddOrUpdate(remote, 1, static (_, n) => n + 1);
            if (count > settings.MaxConnectionsPerAddress)
            {
                ReleaseAddress(remote);
                Interlocked.Decrement(ref _open);
                return AdmissionRefusal.AddressLimit;
            }
        }
        lease = new Lease(this, remote);
        return AdmissionRefusal.None;
    }

    private void ReleaseAddress(IPAddress remote)
    {
        while (true)
        {
            var count = _perAddress[remote];
            if (count == 1
                ? _perAddress.TryRemove(new KeyValuePair<IPAddress, int>(remote, 1))
                : _perAddress.TryUpdate(remote, count - 1, count))
            {
                return;
            }
        }
    }

    /// <summary>A place held by one admitted connection.</summary>
    internal readonly struct Lease(ConnectionAdmission? owner, IPAddress? remote) : IDisposable
    {
        public void Dispose()
        {
            if (owner is null)
            {
                return;
            }
            if (remote is not null)
            {
                owner.ReleaseAddress(remote);
            }
            Interlocked.Decrement(ref owner._open);
        }
    }
}
