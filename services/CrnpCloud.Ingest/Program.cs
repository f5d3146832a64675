using CrnpCloud.Ingest;
using CrnpCloud.Redis;
using CrnpCloud.ServiceDefaults;

if (ServiceVersion.PrintIfRequested(args))
{
    return;
}

var builder = WebApplication.CreateBuilder(args);
builder.AddServiceDefaults("crnpcloud-ingest");
builder.AddCrnpRedisStore();
builder.AddCrnpIngest();

var app = builder.Build();
app.MapServiceDefaults();
app.MapCrnpIngest();
app.Run();
