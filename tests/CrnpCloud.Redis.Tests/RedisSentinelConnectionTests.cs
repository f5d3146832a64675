using System.Net;
using CrnpCloud.Redis;
using StackExchange.Redis;

namespace CrnpCloud.Redis.Tests;

/// <summary>How <c>Crnp:Store:Redis</c> names Sentinels (services/CrnpCloud.Redis/RedisConnection.Sentinel.cs).</summary>
public sealed class RedisSentinelConnectionTests
{
    [Fact]
    public void StackExchangeFormWithServiceNameIsSentinel()
    {
        var options = RedisConnection.Configure("s1:26379,s2:26380,serviceName=mymaster");
        Assert.Equal("mymaster", options.ServiceName);
        Assert.Equal(["s1:26379", "s2:26380"], options.EndPoints.Select(Text));
        Assert.True(RedisConnection.IsSentinel("s1:26379,serviceName=mymaster"));
        Assert.False(RedisConnection.IsSentinel("127.0.0.1:6379"));
    }

    [Fact]
    public void SentinelUrlNamesHostsPasswordServiceAndDatabase()
    {
        var options = RedisConnection.Configure("redis+sentinel://:s%40cret@s1:26379,s2,[::1]:26390/mymaster/2");
        Assert.Equal("mymaster", options.ServiceName);
        Assert.Equal("s@cret", options.Password);
        Assert.Equal(2, options.DefaultDatabase);
        Assert.False(options.Ssl);
        Assert.Equal(["s1:26379", "s2:26379", "[::1]:26390"], options.EndPoints.Select(Text));
        Assert.True(RedisConnection.IsUrl("redis+sentinel://s1/mymaster"));
        Assert.True(RedisConnection.Configure("rediss+sentinel://s1/mymaster").Ssl);
        Assert.Equal("redis+sentinel://***@s1:26379/mymaster", RedisConnection.Redact("redis+sentinel://:pw@s1:26379/mymaster"));
    }

    [Theory]
    [InlineData("redis+sentinel://s1:26379")]
    [InlineData("redis+sentinel:///mymaster")]
    [InlineData("redis+sentinel://s1/a/1/x")]
    public void SentinelUrlWithoutHostsOrServiceIsRefused(string url) =>
        Assert.Throws<FormatException>(() => RedisConnection.Configure(url));

    private static string Text(EndPoint endpoint) => endpoint switch
    {
        DnsEndPoint dns => $"{dns.Host}:{dns.Port}",
        IPEndPoint ip => ip.ToString(),
        _ => endpoint.ToString()!,
    };
}
