using CrnpCloud.Operator;
using CrnpCloud.Redis;
using CrnpCloud.ServiceDefaults;

if (ServiceVersion.PrintIfRequested(args))
{
    return;
}

// The operator serves no requests of its own; its only HTTP endpoint is the management one.
var builder = WebApplication.CreateBuilder(args);
builder.AddServiceDefaults("crnpcloud-operator");
builder.AddCrnpRedisStore();
builder.AddCrnpOperator();

var app = builder.Build();
app.MapServiceDefaults();
app.Run();
