using CrnpCloud.Ingest;
using CrnpCloud.Redis;

var builder = WebApplication.CreateBuilder(args);
builder.AddCrnpRedisStore();
builder.AddCrnpIngest();

var app = builder.Build();
app.MapCrnpIngest();
app.Run();
