using System.Reflection;
using Microsoft.Extensions.Logging;

namespace CrnpCloud.Chart.Tests;

/// <summary>
/// One event-id convention for every log line (docs/architecture.md): each assembly has its own range,
/// so an id names one message even in the all-in-one process, where edge, ingest and delivery log together.
/// </summary>
public sealed class LogEventIdTests
{
    // Assembly -> [first, last] id of its range.
    private static readonly (Assembly Assembly, int First, int Last)[] Ranges =
    [
        (typeof(Edge.EdgeOptions).Assembly, 100, 199),
        (typeof(Ingest.IngestOptions).Assembly, 200, 299),
        (typeof(Delivery.DeliveryOptions).Assembly, 300, 399),
        (typeof(ServiceDefaults.LogThrottle).Assembly, 900, 999),
        (typeof(Operator.OperatorOptions).Assembly, 1000, 1999),
    ];

    [Fact]
    public void EveryLogMessage_HasAnIdOfItsOwn_InItsAssemblysRange()
    {
        var seen = new Dictionary<int, string>();
        var problems = new List<string>();
        foreach (var (assembly, first, last) in Ranges)
        {
            var messages = assembly.GetTypes()
                .SelectMany(t => t.GetMethods(BindingFlags.Static | BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly))
                .Select(m => (Method: m, Attribute: m.GetCustomAttribute<LoggerMessageAttribute>()))
                .Where(x => x.Attribute is not null)
                .ToList();
            Assert.NotEmpty(messages);
            foreach (var (method, attribute) in messages)
            {
                var name = $"{method.DeclaringType!.Name}.{method.Name}";
                var id = attribute!.EventId;
                if (id < first || id > last)
                {
                    problems.Add($"{name}: id {id} outside {assembly.GetName().Name}'s range {first}-{last}");
                }
                if (!seen.TryAdd(id, name))
                {
                    problems.Add($"{name}: id {id} already used by {seen[id]}");
                }
            }
        }
        Assert.Empty(problems);
    }
}
