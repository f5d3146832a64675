using CrnpCloud.Delivery;
using CrnpCloud.Redis;

// A worker serves no requests, so it runs on the generic host: several can share a machine.
var builder = Host.CreateApplicationBuilder(args);
builder.AddCrnpRedisStore();
builder.AddCrnpDelivery();
builder.Build().Run();
