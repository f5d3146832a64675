using CrnpCloud.Edge;

var builder = WebApplication.CreateBuilder(args);
builder.AddCrnpEdge();

var app = builder.Build();
app.Run();
