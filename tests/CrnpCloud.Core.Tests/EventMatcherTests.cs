using CrnpCloud.Protocol;

namespace CrnpCloud.Core.Tests;

public sealed class EventMatcherTests
{
    private static readonly CrnpEvent RgOnline = new("EC_Cluster", "ESC_cluster_rg_state", "SUNW", "rgm",
        new NameValue("rg_name", "rg1"), new NameValue("node_list", "n1", "n2"), new NameValue("state_list", "ONLINE", "OFFLINE"));

    [Theory]
    [InlineData("EC_Cluster", null, true)]
    [InlineData("EC_Cluster", "ESC_cluster_rg_state", true)]
    [InlineData("EC_Cluster", "ESC_cluster_membership", false)]
    [InlineData("EC_Other", null, false)]
    [InlineData("ec_cluster", null, false)]
    public void ClassAndSubclass(string @class, string? subclass, bool expected)
    {
        Assert.Equal(expected, EventMatcher.Matches(new EventRegistration(@class, subclass), RgOnline));
    }

    [Fact]
    public void EveryRegisteredPair_MustBePresentWithEqualValues()
    {
        Assert.True(EventMatcher.Matches(new("EC_Cluster", "ESC_cluster_rg_state", new NameValue("rg_name", "rg1")), RgOnline));
        Assert.True(EventMatcher.Matches(new("EC_Cluster", null, new NameValue("node_list", "n1", "n2"), new NameValue("rg_name", "rg1")), RgOnline));
        Assert.False(EventMatcher.Matches(new("EC_Cluster", null, new NameValue("rg_name", "rg2")), RgOnline));
        Assert.False(EventMatcher.Matches(new("EC_Cluster", null, new NameValue("node_list", "n1")), RgOnline));
        Assert.False(EventMatcher.Matches(new("EC_Cluster", null, new NameValue("node_list", "n2", "n1")), RgOnline));
        Assert.False(EventMatcher.Matches(new("EC_Cluster", null, new NameValue("r_name", "rg1")), RgOnline));
    }

    [Fact]
    public void StateKey_SeparatesResourceGroups_ButNotSuccessiveStatesOfOne()
    {
        var rg1Offline = RgOnline with { NameValues = EquatableList.Of(new NameValue("rg_name", "rg1"), new NameValue("state_list", "OFFLINE")) };
        var rg2 = RgOnline with { NameValues = EquatableList.Of(new NameValue("rg_name", "rg2")) };

        Assert.Equal(StateKey.For(RgOnline), StateKey.For(rg1Offline));
        Assert.NotEqual(StateKey.For(RgOnline), StateKey.For(rg2));
    }
}
