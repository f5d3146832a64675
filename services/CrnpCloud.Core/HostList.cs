using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Net;

namespace CrnpCloud.Core;

/// <summary>Parses allow/deny host entries: <c>a.b.c.d/len</c>, IPv6 CIDRs, bare addresses, <c>LOCAL</c>, <c>ALL</c>.</summary>
public static class HostList
{
    public const string Local = "LOCAL";
    public const string All = "ALL";

    public static string[] Split(string? value) =>
        (value ?? string.Empty).Split([',', ' ', '\t', '\n', ';'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    public static bool IsKeyword(string entry) =>
        entry.Equals(Local, StringComparison.OrdinalIgnoreCase) || entry.Equals(All, StringComparison.OrdinalIgnoreCase);

    /// <summary>Parses a CIDR or a bare address (a /32 or /128); host bits below the prefix are cleared.</summary>
    public static bool TryParseNetwork(string entry, [NotNullWhen(true)] out IPNetwork? network)
    {
        network = null;
        var slash = entry.IndexOf('/', StringComparison.Ordinal);
        var addressText = slash < 0 ? entry : entry[..slash];
        if (!IPAddress.TryParse(addressText, out var address))
        {
            return false;
        }

        address = address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address;
        var maxPrefix = address.GetAddressBytes().Length * 8;
        var prefix = maxPrefix;
        if (slash >= 0 && (!int.TryParse(entry.AsSpan(slash + 1), NumberStyles.None, CultureInfo.InvariantCulture, out prefix) || prefix > maxPrefix))
        {
            return false;
        }

        network = new IPNetwork(Mask(address, prefix), prefix);
        return true;
    }

    public static IPAddress Mask(IPAddress address, int prefix)
    {
        var bytes = address.GetAddressBytes();
        for (var i = 0; i < bytes.Length; i++)
        {
            var bits = Math.Clamp(prefix - (i * 8), 0, 8);
            bytes[i] &= (byte)(0xFF << (8 - bits));
        }
        return new IPAddress(bytes);
    }

    /// <summary>The entries of a host list that are neither a CIDR, an address nor (where allowed) a keyword.</summary>
    public static IEnumerable<string> InvalidEntries(string? value, bool keywordsAllowed = true) =>
        Split(value).Where(entry => !(keywordsAllowed && IsKeyword(entry)) && !TryParseNetwork(entry, out _));
}
