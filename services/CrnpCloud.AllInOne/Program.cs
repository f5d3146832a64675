using System.CommandLine;
using System.Globalization;
using CrnpCloud.Core;
using CrnpCloud.Delivery;
using CrnpCloud.Edge;
using CrnpCloud.Ingest;
using CrnpCloud.Redis;
using CrnpCloud.ServiceDefaults;

var store = new Option<string>("--store")
{
    Description = "where state lives: 'memory' (embedded, ends with the process) or redis://[:password@]host:port",
    DefaultValueFactory = _ => "memory",
};
store.Validators.Add(result =>
{
    var value = result.GetValueOrDefault<string>();
    if (value != "memory" && !RedisConnection.IsUrl(value))
    {
        result.AddError($"--store: '{value}' is neither 'memory' nor a redis:// URL");
    }
});
var edgePort = Port("--edge-port", "CRNP registration port (TCP/XML)", 9444);
var ingestPort = Port("--ingest-port", "event ingest and admin port (gRPC, HTTP/2 without TLS)", 9445);
var httpPort = Port("--http-port", "health and metrics port (HTTP)", 9464);

var root = new RootCommand("CrnpCloud all-in-one: CRNP edge, event ingest and delivery in one process. "
    + "Any other setting can follow as --Section:Key=value (see README, configuration reference).")
{
    store, edgePort, ingestPort, httpPort,
};
root.TreatUnmatchedTokensAsErrors = false;
root.SetAction(async (result, token) =>
{
    var settings = new Dictionary<string, string?>
    {
        ["Crnp:Edge:Port"] = result.GetValue(edgePort).ToString(CultureInfo.InvariantCulture),
        ["Crnp:Ingest:Port"] = result.GetValue(ingestPort).ToString(CultureInfo.InvariantCulture),
        ["Crnp:Management:Port"] = result.GetValue(httpPort).ToString(CultureInfo.InvariantCulture),
    };
    var storeUrl = result.GetValue(store)!;
    if (storeUrl != "memory")
    {
        settings["Crnp:Store:Redis"] = storeUrl;
    }

    var builder = WebApplication.CreateBuilder([.. result.UnmatchedTokens]);
    builder.Configuration.AddInMemoryCollection(settings);
    builder.AddServiceDefaults("crnpcloud-allinone");
    builder.AddCrnpRedisStore();
    builder.AddCrnpEdge();
    builder.AddCrnpIngest();
    builder.AddCrnpDelivery();

    var app = builder.Build();
    app.MapServiceDefaults();
    app.MapCrnpIngest();
    Console.WriteLine(storeUrl == "memory"
        ? "CrnpCloud all-in-one, store: in-memory (registrations and events end with this process)"
        : $"CrnpCloud all-in-one, store: {RedisConnection.Redact(storeUrl)}");
    try
    {
        await app.RunAsync(token);
        return 0;
    }
    catch (IOException ex) when (ex.InnerException is Microsoft.AspNetCore.Connections.AddressInUseException)
    {
        await Console.Error.WriteLineAsync($"crnpcloud: {ex.Message} Another process uses that port: stop it, or choose "
            + "other ports with --edge-port, --ingest-port and --http-port (0 picks a free one).");
        return 1;
    }
});
return await root.Parse(args).InvokeAsync();

static Option<int> Port(string name, string description, int defaultPort)
{
    var option = new Option<int>(name) { Description = $"{description}; 0 picks a free port", DefaultValueFactory = _ => defaultPort };
    option.Validators.Add(r =>
    {
        if (!SettingLimits.Within(r.GetValueOrDefault<int>(), SettingLimits.ListenPortMin, SettingLimits.PortMax))
        {
            r.AddError($"{name}: a port is {SettingLimits.ListenPortMin}..{SettingLimits.PortMax}");
        }
    });
    return option;
}
