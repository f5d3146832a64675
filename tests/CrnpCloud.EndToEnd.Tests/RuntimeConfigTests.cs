using System.Text.Json;
using CrnpCloud.Testing;

namespace CrnpCloud.EndToEnd.Tests;

/// <summary>The runtime settings the service builds carry (services/Directory.Build.props).</summary>
public sealed class RuntimeConfigTests
{
    [Theory]
    [InlineData("CrnpCloud.Edge")]
    [InlineData("CrnpCloud.Ingest")]
    [InlineData("CrnpCloud.Delivery")]
    [InlineData("CrnpCloud.AllInOne")]
    public void IdleThreadPoolWorkers_BlockInsteadOfSpinning(string project)
    {
        var config = Path.ChangeExtension(ServiceProcess.BuiltDll(project), ".runtimeconfig.json");
        using var json = JsonDocument.Parse(File.ReadAllText(config));
        var properties = json.RootElement.GetProperty("runtimeOptions").GetProperty("configProperties");
        Assert.Equal(0, properties.GetProperty("System.Threading.ThreadPool.UnfairSemaphoreSpinLimit").GetInt32());
    }
}
