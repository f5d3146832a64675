using System.ComponentModel.DataAnnotations;

namespace CrnpCloud.Redis.Tests;

/// <summary>The options that decide the keys' hash tag are validated (DataAnnotations, as at startup).</summary>
public sealed class RedisStoreOptionsTests
{
    [Theory]
    [InlineData("crnp:", "default", true)]
    [InlineData("t0123456789ab:", "prod-1.eu_west", true)]
    [InlineData("x{}", "default", false)]
    [InlineData("a{b}:", "default", false)]
    [InlineData("crnp:", "a}b", false)]
    [InlineData("crnp:", "", false)]
    public void KeyPrefixAndCluster_CannotBreakTheHashTag(string prefix, string cluster, bool valid)
    {
        var options = new RedisStoreOptions { KeyPrefix = prefix, Cluster = cluster };

        var errors = new List<ValidationResult>();
        Assert.Equal(valid, Validator.TryValidateObject(options, new ValidationContext(options), errors, validateAllProperties: true));
        Assert.All(errors, e => Assert.DoesNotContain("{0}", e.ErrorMessage, StringComparison.Ordinal));
    }
}
