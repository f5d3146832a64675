using System.Net;
using BenchmarkDotNet.Attributes;
using CrnpCloud.Core;
using CrnpCloud.Protocol;

namespace CrnpCloud.MicroBenchmarks;

/// <summary>
/// Matching and the subscription index: one registered type against an event, and a whole fan-out
/// through the in-memory store's index (1,000 clients over 50 resource groups plus 100 membership
/// clients; an rg_state event matches 20 of them).
/// </summary>
[MemoryDiagnoser]
public class MatchingBenchmarks
{
    private readonly EventRegistration _rgType = new("EC_Cluster", "ESC_cluster_rg_state", new NameValue("rg_name", "rg7"));
    private CrnpEvent _rgEvent = null!;
    private CrnpEvent _otherRg = null!;
    private InMemoryStore _store = null!;
    private int _acked;

    [GlobalSetup]
    public void Setup()
    {
        _rgEvent = new CrnpEvent("EC_Cluster", "ESC_cluster_rg_state", "SUNW", "rgm",
            new NameValue("rg_name", "rg7"), new NameValue("node_list", "n1", "n2"), new NameValue("state_list", "ONLINE", "OFFLINE"));
        _otherRg = _rgEvent with { NameValues = new EquatableList<NameValue>([new NameValue("rg_name", "rg8"), .. _rgEvent.NameValues.Skip(1)]) };
        _store = new InMemoryStore();
        var limits = new RegistrationLimits(10_000, 10);
        for (var c = 0; c < 1000; c++)
        {
            var type = new EventRegistration("EC_Cluster", "ESC_cluster_rg_state", new NameValue("rg_name", $"rg{c % 50}"));
            _store.ApplyAsync(new RegistrationChange(RegistrationType.AddClient, new CallbackAddress(IPAddress.Loopback, 20_000 + c), EquatableList.Of(type), limits)).GetAwaiter().GetResult();
        }
        for (var c = 0; c < 100; c++)
        {
            _store.ApplyAsync(new RegistrationChange(RegistrationType.AddClient, new CallbackAddress(IPAddress.Loopback, 30_000 + c),
                EquatableList.Of(new EventRegistration("EC_Cluster", "ESC_cluster_membership")), limits)).GetAwaiter().GetResult();
        }
    }

    [Benchmark]
    public bool MatchOneType() => EventMatcher.Matches(_rgType, _rgEvent);

    [Benchmark]
    public bool MatchOneType_OtherGroup() => EventMatcher.Matches(_rgType, _otherRg);

    /// <summary>Sequence, latest state, log, index lookup, matching and 20 queue appends (in-memory store).</summary>
    [Benchmark]
    public int FanOutTo20Of1100Clients()
    {
        var result = _store.PublishAsync(_rgEvent).GetAwaiter().GetResult();
        // Keep the queues from growing across iterations: registering the 20 clients again starts them
        // with empty queues (amortised over 1,024 publishes).
        if (++_acked % 1024 == 0)
        {
            var limits = new RegistrationLimits(10_000, 10);
            foreach (var c in Enumerable.Range(0, 1000).Where(c => c % 50 == 7))
            {
                _store.ApplyAsync(new RegistrationChange(RegistrationType.AddClient, new CallbackAddress(IPAddress.Loopback, 20_000 + c), EquatableList.Of(_rgType), limits))
                    .GetAwaiter().GetResult();
            }
        }
        return result.Queued;
    }
}
