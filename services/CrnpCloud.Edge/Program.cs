using CrnpCloud.Edge;
using CrnpCloud.Redis;
using CrnpCloud.ServiceDefaults;

if (ServiceVersion.PrintIfRequested(args))
{
    return;
}

var builder = WebApplication.CreateBuilder(args);
builder.AddServiceDefaults("crnpcloud-edge");
builder.AddCrnpRedisStore();
builder.AddCrnpEdge();

var app = builder.Build();
app.MapServiceDefaults();
app.Run();
