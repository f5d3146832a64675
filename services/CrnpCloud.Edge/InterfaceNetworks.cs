using System.Net;
using System.Net.NetworkInformation;
using CrnpCloud.Core;

namespace CrnpCloud.Edge;

/// <summary>
/// The part of LOCAL that comes from this host: the subnets of its interfaces and all of loopback
/// (127.0.0.0/8, ::1). Tests put another in the container, because on loopback every 127.x source
/// would be local and nothing else could be told apart.
/// </summary>
internal sealed class InterfaceNetworks(Func<IReadOnlyList<IPNetwork>> read)
{
    public static InterfaceNetworks System { get; } = new(ReadInterfaces);

    public IReadOnlyList<IPNetwork> Read() => read();

    private static List<IPNetwork> ReadInterfaces()
    {
        var networks = new List<IPNetwork>();
        foreach (var nic in NetworkInterface.GetAllNetworkInterfaces())
        {
            foreach (var unicast in nic.GetIPProperties().UnicastAddresses)
            {
                networks.Add(new IPNetwork(HostList.Mask(unicast.Address, unicast.PrefixLength), unicast.PrefixLength));
            }
        }

        // Loopback is local whatever the interface list says (the whole of 127/8, and ::1).
        networks.Add(new IPNetwork(IPAddress.Parse("127.0.0.0"), 8));
        networks.Add(new IPNetwork(IPAddress.IPv6Loopback, 128));
        return networks;
    }
}
