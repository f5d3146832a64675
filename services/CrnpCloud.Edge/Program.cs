using CrnpCloud.Edge;
using CrnpCloud.Redis;

var builder = WebApplication.CreateBuilder(args);
builder.AddCrnpRedisStore();
builder.AddCrnpEdge();

var app = builder.Build();
app.Run();
