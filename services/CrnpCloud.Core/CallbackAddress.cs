using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Net;

namespace CrnpCloud.Core;

/// <summary>
/// A CRNP client's identity: the source IP of its registration and the PORT it asked to be called
/// back on. IPv4-mapped IPv6 addresses are normalised to IPv4 so a dual-stack listener and an IPv4
/// listener see the same client.
/// </summary>
public readonly record struct CallbackAddress
{
    public CallbackAddress(IPAddress ip, int port)
    {
        ArgumentNullException.ThrowIfNull(ip);
        ArgumentOutOfRangeException.ThrowIfLessThan(port, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(port, 65535);
        Ip = Normalize(ip);
        Port = port;
    }

    public IPAddress Ip { get; }

    public int Port { get; }

    /// <summary>The stable text form used as the client id in stores and logs: <c>1.2.3.4:9000</c> or <c>[::1]:9000</c>.</summary>
    public override string ToString() => new IPEndPoint(Ip, Port).ToString();

    public IPEndPoint ToEndPoint() => new(Ip, Port);

    public static IPAddress Normalize(IPAddress ip) => ip.IsIPv4MappedToIPv6 ? ip.MapToIPv4() : ip;

    public static bool TryParse(string? text, [NotNullWhen(true)] out CallbackAddress? address)
    {
        address = null;
        if (IPEndPoint.TryParse(text ?? string.Empty, out var endPoint) && endPoint.Port is > 0 and <= 65535
            && text!.LastIndexOf(':') is var colon && colon > 0
            && int.TryParse(text.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out _))
        {
            address = new CallbackAddress(endPoint.Address, endPoint.Port);
            return true;
        }
        return false;
    }

    public static CallbackAddress Parse(string text) =>
        TryParse(text, out var address) ? address.Value : throw new FormatException($"'{text}' is not ip:port");
}
