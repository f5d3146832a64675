using System.Globalization;
using System.Net;

namespace CrnpCloud.Cli;

/// <summary>A <c>host:port</c> argument; the port may be left out when there is a default.</summary>
internal readonly record struct Endpoint(string Host, int Port)
{
    public static bool TryParse(string text, int defaultPort, out Endpoint endpoint, out string error)
    {
        endpoint = default;
        error = "";
        var value = text.Trim();
        string host;
        var port = defaultPort;
        if (value.StartsWith('['))
        {
            var close = value.IndexOf(']', StringComparison.Ordinal);
            if (close < 0)
            {
                error = $"'{text}': missing ']' after an IPv6 address";
                return false;
            }
            host = value[1..close];
            var rest = value[(close + 1)..];
            if (rest.Length > 0 && (!rest.StartsWith(':') || !TryPort(rest[1..], out port)))
            {
                error = $"'{text}': expected [address]:port";
                return false;
            }
        }
        else
        {
            var colon = value.LastIndexOf(':');
            host = colon < 0 ? value : value[..colon];
            if (colon >= 0 && (value.IndexOf(':', StringComparison.Ordinal) != colon || !TryPort(value[(colon + 1)..], out port)))
            {
                error = $"'{text}': expected host:port (an IPv6 address goes in brackets: [::1]:9444)";
                return false;
            }
        }
        if (host.Length == 0)
        {
            error = $"'{text}': no host";
            return false;
        }
        endpoint = new Endpoint(host, port);
        return true;
    }

    /// <summary>The socket address to connect to: an IP address as it is, a host name to resolve.</summary>
    public EndPoint ToEndPoint() => IPAddress.TryParse(Host, out var address) ? new IPEndPoint(address, Port) : new DnsEndPoint(Host, Port);

    private static bool TryPort(string text, out int port) =>
        int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out port) && port is > 0 and <= 65535;

    public override string ToString() => Host.Contains(':', StringComparison.Ordinal) ? $"[{Host}]:{Port}" : $"{Host}:{Port}";
}
