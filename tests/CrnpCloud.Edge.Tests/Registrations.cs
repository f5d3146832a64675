using CrnpCloud.Protocol;

namespace CrnpCloud.Edge.Tests;

internal static class Registrations
{
    public static readonly EventRegistration Membership = new("EC_Cluster", "ESC_cluster_membership");

    public static EventRegistration RgState(string rg) => new("EC_Cluster", "ESC_cluster_rg_state", new NameValue("rg_name", rg));

    public static CallbackRegistration AddClient(int port, params EventRegistration[] types) => new(RegistrationType.AddClient, port, types);

    public static CallbackRegistration AddEvents(int port, params EventRegistration[] types) => new(RegistrationType.AddEvents, port, types);

    public static CallbackRegistration RemoveEvents(int port, params EventRegistration[] types) => new(RegistrationType.RemoveEvents, port, types);

    public static CallbackRegistration RemoveClient(int port) => new(RegistrationType.RemoveClient, port);

    public static CrnpEvent MembershipEvent(params string[] states) =>
        new("EC_Cluster", "ESC_cluster_membership", "SUNW", "rgm",
            new NameValue("node_list", [.. states.Select((_, i) => $"node{i + 1}")]),
            new NameValue("state_list", states));
}
