using System.Globalization;
using StackExchange.Redis;

namespace CrnpCloud.Redis;

// Redis Sentinel: the endpoints in the configuration are Sentinels and serviceName names the primary
// they watch. The forms are read here; the store connects through them with SentinelConnection.cs
// (PROTOCOL.md section 12).
public static partial class RedisConnection
{
    /// <summary>Sentinel's own port, the default of a Sentinel URL's hosts.</summary>
    public const int SentinelPort = 26379;

    /// <summary>
    /// True for <c>redis+sentinel://</c> and <c>rediss+sentinel://</c> (TLS to the data nodes and the
    /// Sentinels) URLs: <c>redis+sentinel://[[user]:password@]host1[:port][,host2[:port]...]/SERVICE[/db]</c>.
    /// </summary>
    public static bool IsSentinelUrl(string? connection) =>
        connection is not null
        && (connection.StartsWith("redis+sentinel://", StringComparison.OrdinalIgnoreCase)
            || connection.StartsWith("rediss+sentinel://", StringComparison.OrdinalIgnoreCase));

    /// <summary>True when the connection names Sentinels (a Sentinel URL, or a configuration string with <c>serviceName=</c>).</summary>
    public static bool IsSentinel(string connection) =>
        !string.IsNullOrEmpty(Configure(connection).ServiceName);

    // redis+sentinel://[[user]:password@]host1[:port][,host2[:port]...]/SERVICE[/db]
    private static ConfigurationOptions FromSentinelUrl(string url)
    {
        var tls = url.StartsWith("rediss+", StringComparison.OrdinalIgnoreCase);
        var rest = url[(url.IndexOf("://", StringComparison.Ordinal) + 3)..];
        var at = rest.LastIndexOf('@');
        var slash = rest.IndexOf('/', at + 1);
        if (slash < 0)
        {
            throw new FormatException("a Sentinel URL names the service after the hosts: redis+sentinel://host1:26379,host2:26379/SERVICE");
        }
        var options = new ConfigurationOptions { Ssl = tls };
        if (at >= 0)
        {
            var userInfo = rest[..at];
            var colon = userInfo.IndexOf(':', StringComparison.Ordinal);
            var user = Uri.UnescapeDataString(colon < 0 ? "" : userInfo[..colon]);
            options.Password = Uri.UnescapeDataString(colon < 0 ? userInfo : userInfo[(colon + 1)..]);
            options.User = user.Length > 0 ? user : null;
        }
        foreach (var host in rest[(at + 1)..slash].Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            // host, host:port, [v6], [v6]:port
            var close = host.LastIndexOf(']');
            var colon = host.LastIndexOf(':');
            var hasPort = colon > close && (close >= 0 || host.IndexOf(':', StringComparison.Ordinal) == colon);
            var name = (hasPort ? host[..colon] : host).Trim('[', ']');
            var port = hasPort ? int.Parse(host[(colon + 1)..], NumberStyles.None, CultureInfo.InvariantCulture) : SentinelPort;
            options.EndPoints.Add(name, port);
        }
        if (options.EndPoints.Count == 0)
        {
            throw new FormatException("a Sentinel URL names at least one Sentinel host");
        }
        var path = rest[(slash + 1)..].Split('?')[0].Split('/', StringSplitOptions.RemoveEmptyEntries);
        if (path.Length is 0 or > 2)
        {
            throw new FormatException("a Sentinel URL ends in /SERVICE or /SERVICE/DB");
        }
        options.ServiceName = Uri.UnescapeDataString(path[0]);
        if (path.Length == 2)
        {
            options.DefaultDatabase = int.Parse(path[1], NumberStyles.None, CultureInfo.InvariantCulture);
        }
        return options;
    }

    private static string RedactSentinelUrl(string url)
    {
        var start = url.IndexOf("://", StringComparison.Ordinal) + 3;
        var at = url.LastIndexOf('@');
        return at < start ? url : url[..start] + "***" + url[at..];
    }
}
