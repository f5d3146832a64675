using System.Net;

namespace CrnpCloud.Core.Tests;

public sealed class CallbackAddressTests
{
    [Fact]
    public void MappedIpv4_IsTheSameClientAsIpv4()
    {
        var mapped = new CallbackAddress(IPAddress.Parse("::ffff:10.1.2.3"), 9000);

        Assert.Equal(new CallbackAddress(IPAddress.Parse("10.1.2.3"), 9000), mapped);
        Assert.Equal("10.1.2.3:9000", mapped.ToString());
    }

    [Theory]
    [InlineData("10.1.2.3:9000", true)]
    [InlineData("[fd00::1]:80", true)]
    [InlineData("10.1.2.3", false)]
    [InlineData("10.1.2.3:0", false)]
    [InlineData("10.1.2.3:70000", false)]
    [InlineData("host:80", false)]
    public void TryParse_NeedsIpAndPort(string text, bool ok)
    {
        Assert.Equal(ok, CallbackAddress.TryParse(text, out var parsed));
        if (ok)
        {
            Assert.Equal(text, parsed!.Value.ToString());
        }
    }
}
