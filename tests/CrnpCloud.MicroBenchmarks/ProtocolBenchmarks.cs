using System.Buffers;
using BenchmarkDotNet.Attributes;
using CrnpCloud.Protocol;

namespace CrnpCloud.MicroBenchmarks;

/// <summary>Cost of reading and writing CRNP documents: a ~1 KiB registration and a typical event.</summary>
[MemoryDiagnoser]
public class ProtocolBenchmarks
{
    private ReadOnlySequence<byte> _registration;
    private CrnpEvent _event = null!;

    [GlobalSetup]
    public void Setup()
    {
        var types = Enumerable.Range(0, 8)
            .Select(i => new EventRegistration("EC_Cluster", "ESC_cluster_rg_state", new NameValue("rg_name", $"resource-group-{i}")))
            .Prepend(new EventRegistration("EC_Cluster", "ESC_cluster_membership"))
            .ToArray();
        var bytes = CrnpWriter.ToBytes(new CallbackRegistration(RegistrationType.AddClient, 18888, types));
        Console.WriteLine($"// registration document: {bytes.Length} bytes");
        _registration = new ReadOnlySequence<byte>(bytes);
        _event = new CrnpEvent("EC_Cluster", "ESC_cluster_membership", "SUNW", "rgm",
            new NameValue("node_list", "node-1", "node-2", "node-3", "node-4"),
            new NameValue("state_list", "12", "7", "-1", "3"));
    }

    [Benchmark]
    public FrameStatus FrameRegistration() => new DocumentFramer().Advance(_registration, out _, out _);

    [Benchmark]
    public bool ParseRegistration() => CrnpParser.ParseRegistration(_registration).IsSuccess;

    [Benchmark]
    public bool FrameAndParseRegistration()
    {
        new DocumentFramer().Advance(_registration, out var length, out _);
        return CrnpParser.ParseRegistration(_registration.Slice(0, length)).IsSuccess;
    }

    [Benchmark]
    public int WriteEvent() => CrnpWriter.ToBytes(_event).Length;
}
