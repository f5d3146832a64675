using System.ComponentModel;
using System.ComponentModel.DataAnnotations;
using CrnpCloud.Core;

namespace CrnpCloud.Core.Tests;

public sealed class DurationsTests
{
    [Theory]
    [InlineData("30s", 30_000)]
    [InlineData("1m30s", 90_000)]
    [InlineData("500ms", 500)]
    [InlineData("1.5h", 5_400_000)]
    [InlineData("0.1s", 100)]
    [InlineData("1h1m1s1ms", 3_661_001)]
    public void KubernetesStyle_Parses(string text, double ms)
    {
        Assert.True(Durations.TryParse(text, out var duration));
        Assert.Equal(ms, duration.TotalMilliseconds);
        Assert.True(Durations.TryParseSetting(text, out var setting));
        Assert.Equal(duration, setting);
    }

    [Theory]
    [InlineData("00:00:30", 30_000)]
    [InlineData("00:01:30", 90_000)]
    [InlineData("00:00:00.010", 10)]
    [InlineData("1.00:00:00", 86_400_000)]
    [InlineData(" 00:00:05 ", 5_000)]
    public void TheTimeSpanForm_IsReadAsASetting_ButNotInAResource(string text, double ms)
    {
        Assert.True(Durations.TryParseSetting(text, out var duration));
        Assert.Equal(ms, duration.TotalMilliseconds);
        Assert.False(Durations.TryParse(text, out _));
    }

    [Theory]
    [InlineData("")]
    [InlineData(null)]
    [InlineData("soon")]
    [InlineData("30 s")]
    [InlineData("-1s")]
    [InlineData("1d")]
    [InlineData("30s0")]
    [InlineData("99999999999999999999h")]
    public void NeitherForm_IsRefused(string? text)
    {
        Assert.False(Durations.TryParse(text, out _));
        Assert.False(Durations.TryParseSetting(text, out _));
    }

    // A CRD field (TryParse) takes a unit; a bare number is not read as one.
    [Fact]
    public void ABareNumber_IsRefusedInAResource() => Assert.False(Durations.TryParse("30", out _));

    [Fact]
    public void ABadSetting_SaysWhatIsExpected()
    {
        var failure = Assert.Throws<FormatException>(() => Durations.ParseSetting("soon"));
        Assert.Equal("'soon' is not a duration: write a number with a unit of ms, s, m or h, such as 500ms, 30s, 1m30s or 2h (hh:mm:ss is read too)", failure.Message);
    }

    [Theory]
    [InlineData(0, "0s")]
    [InlineData(500, "500ms")]
    [InlineData(90_000, "1m30s")]
    [InlineData(86_400_000, "24h")]
    [InlineData(3_661_001, "1h1m1s1ms")]
    [InlineData(0.5, "0.5ms")]
    public void Format_WritesKubernetesStyle_ThatParsesBack(double ms, string text)
    {
        var duration = TimeSpan.FromMilliseconds(ms);
        Assert.Equal(text, Durations.Format(duration));
        Assert.True(Durations.TryParse(text, out var back));
        Assert.Equal(duration, back);
    }

    [Fact]
    public void TheSettingPattern_IsEitherForm() =>
        Assert.Equal(Durations.SettingPattern, $"^({Durations.Pattern[1..^1]}|{Durations.TimeSpanPattern[1..^1]})$");

    [Fact]
    public void OnceAccepted_TimeSpansTypeConverter_ReadsBothForms_AsConfigurationBindingUsesIt()
    {
        Durations.AcceptInConfiguration();
        Durations.AcceptInConfiguration();
        var converter = TypeDescriptor.GetConverter(typeof(TimeSpan));
        Assert.IsType<DurationConverter>(converter);
        Assert.Equal(TimeSpan.FromSeconds(90), converter.ConvertFromInvariantString("1m30s"));
        Assert.Equal(TimeSpan.FromSeconds(90), converter.ConvertFromInvariantString("00:01:30"));
        Assert.Contains("'soon' is not a duration", Assert.Throws<FormatException>(() => converter.ConvertFromInvariantString("soon")).Message, StringComparison.Ordinal);
        Assert.Equal("00:01:30", converter.ConvertToInvariantString(TimeSpan.FromSeconds(90)));
    }

    [Fact]
    public void DurationRange_BoundsATimeSpan_AndNamesTheBoundsKubernetesStyle()
    {
        var range = new DurationRangeAttribute(SettingLimits.ClientTimeoutMin, SettingLimits.ClientTimeoutMax);
        Assert.True(range.IsValid(TimeSpan.FromMilliseconds(10)));
        Assert.True(range.IsValid(TimeSpan.FromHours(1)));
        Assert.False(range.IsValid(TimeSpan.FromMilliseconds(9)));
        Assert.False(range.IsValid(TimeSpan.FromHours(1) + TimeSpan.FromTicks(1)));
        Assert.Equal("ClientTimeout must be between 10ms and 1h", range.FormatErrorMessage("ClientTimeout"));

        var invalid = new List<ValidationResult>();
        var options = new Bounded { Timeout = TimeSpan.Zero };
        Assert.False(Validator.TryValidateObject(options, new ValidationContext(options), invalid, validateAllProperties: true));
        Assert.Equal("Timeout must be between 10ms and 1h", Assert.Single(invalid).ErrorMessage);
    }

    [Fact]
    public void ServerSettings_CheckLiveValues_AgainstSettingLimits()
    {
        Assert.True(ServerSettings.ValidRetryCount(SettingLimits.RetryCountMax));
        Assert.False(ServerSettings.ValidRetryCount(SettingLimits.RetryCountMax + 1));
        Assert.False(ServerSettings.ValidRetryCount(SettingLimits.RetryCountMin - 1));
        Assert.True(ServerSettings.ValidRetryInterval(TimeSpan.FromHours(24)));
        Assert.False(ServerSettings.ValidRetryInterval(TimeSpan.FromHours(24) + TimeSpan.FromTicks(1)));
        Assert.True(ServerSettings.ValidClientTimeout(TimeSpan.FromMilliseconds(10)));
        Assert.False(ServerSettings.ValidClientTimeout(TimeSpan.FromMilliseconds(9)));
        Assert.False(ServerSettings.ValidMaxClients(SettingLimits.MaxClientsMax + 1));
        Assert.False(ServerSettings.ValidVendorName(new string('v', SettingLimits.VendorNameMaxLength + 1)));
    }

    private sealed class Bounded
    {
        [DurationRange("10ms", "1h")]
        public TimeSpan Timeout { get; set; }
    }
}
