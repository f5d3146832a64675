using System.Globalization;
using System.Net;
using CrnpCloud.Core;
using CrnpCloud.Protocol;
using CrnpCloud.Testing;

namespace CrnpCloud.Delivery.Tests;

/// <summary>Registering listeners and publishing numbered events, and checking what each listener got.</summary>
internal static class Scenario
{
    public static readonly EventRegistration Membership = new("EC_Cluster", "ESC_cluster_membership");

    /// <summary>A membership event numbered in an <c>ev_</c> nvpair (CRNP lets such pairs through to clients).</summary>
    public static CrnpEvent Numbered(int n) => new("EC_Cluster", "ESC_cluster_membership", "SUNW", "rgm",
        new NameValue("node_list", "node1"), new NameValue("state_list", "1"), new NameValue("ev_test_seq", n.ToString(CultureInfo.InvariantCulture)));

    public static int NumberOf(CrnpEvent evt) => int.Parse(evt.NameValues.Single(p => p.Name == "ev_test_seq").Values[0], CultureInfo.InvariantCulture);

    public static async Task RegisterAsync(ICrnpStore store, CallbackAddress client, params EventRegistration[] types) =>
        await store.ApplyAsync(new RegistrationChange(RegistrationType.AddClient, client,
            new EquatableList<EventRegistration>(types.Length == 0 ? [Membership] : types), new RegistrationLimits(100_000, 100)));

    public static Dictionary<string, string?> Settings(params (string Key, string Value)[] overrides)
    {
        var settings = new Dictionary<string, string?>
        {
            ["Crnp:Delivery:RetryCount"] = "3",
            ["Crnp:Delivery:RetryInterval"] = "00:00:00.200",
            ["Crnp:Delivery:ClientTimeout"] = "00:00:02",
            ["Crnp:Delivery:LeaseTtl"] = "00:00:03",
            ["Crnp:Delivery:RescanInterval"] = "00:00:01",
        };
        foreach (var (key, value) in overrides)
        {
            settings["Crnp:Delivery:" + key] = value;
        }
        return settings;
    }

    public static Task<WorkerHost> StartWorkerAsync(ICrnpStore store, Dictionary<string, string?>? settings = null, TimeProvider? time = null) =>
        WorkerHost.StartAsync(store, b => b.AddCrnpDelivery(), settings ?? Settings(), time);

    /// <summary>The numbers received, which must be exactly 0..count-1 in order.</summary>
    public static void AssertExactlyInOrder(CrnpTestListener listener, int count)
    {
        var numbers = listener.Events.Select(NumberOf).ToArray();
        Assert.Equal(Enumerable.Range(0, count), numbers);
    }

    public static IPAddress Loopback => IPAddress.Loopback;
}
