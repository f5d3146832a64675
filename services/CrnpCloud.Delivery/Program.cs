using CrnpCloud.Delivery;
using CrnpCloud.Redis;
using CrnpCloud.ServiceDefaults;

if (ServiceVersion.PrintIfRequested(args))
{
    return;
}

// The worker serves no requests of its own; its only HTTP endpoint is the management one
// (probes and metrics).
var builder = WebApplication.CreateBuilder(args);
builder.AddServiceDefaults("crnpcloud-delivery");
builder.AddCrnpRedisStore();
builder.AddCrnpDelivery();

var app = builder.Build();
app.MapServiceDefaults();
app.Run();
